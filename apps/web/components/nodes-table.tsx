'use client';

import { useFleet } from '@/lib/fleet/fleet.context';
import { nodeList } from '@/lib/fleet/fleet.reducer';
import { formatMemory } from '@/lib/format';
import { LoadingRow } from './loading-row';
import { RelativeTime } from './relative-time';
import { StateBadge } from './state-badge';
import { Usage } from './usage';

export function NodesTable() {
  const { state } = useFleet();
  const nodes = nodeList(state);
  return (
    <div className="table-scroll">
      <table className="table">
        <caption>Nodes</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">State</th>
            <th scope="col" className="optional">
              Accelerator
            </th>
            <th scope="col" className="optional">
              Hypervisors
            </th>
            <th scope="col">vCPUs used</th>
            <th scope="col">Memory used</th>
            <th scope="col" className="optional">
              Last heartbeat
            </th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((node) => (
            <tr key={node.id}>
              <th scope="row" className="mono">
                {node.name}
              </th>
              <td>
                <StateBadge state={node.state} />
              </td>
              <td className="optional">{node.accel === 'kvm' ? 'KVM' : 'TCG (emulated)'}</td>
              <td className="optional">{node.hypervisors.join(', ')}</td>
              <td>
                <Usage used={node.allocated.vcpus} total={node.capacity.vcpus} />
              </td>
              <td>
                <Usage used={node.allocated.memoryMiB} total={node.capacity.memoryMiB} format={formatMemory} />
              </td>
              <td className="optional"><RelativeTime iso={node.lastHeartbeatAt} /></td>
            </tr>
          ))}
          {state.loaded && nodes.length === 0 && (
            <tr>
              <td colSpan={7} className="table__empty">
                No nodes have joined yet.
              </td>
            </tr>
          )}
          {!state.loaded && <LoadingRow columns={7} />}
        </tbody>
      </table>
    </div>
  );
}
