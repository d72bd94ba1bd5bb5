'use client';

import Link from 'next/link';
import { formatMemory } from '@/lib/format';
import { allocatableOf, type FleetNode } from '@/lib/types';
import { RelativeTime } from '../ui/relative-time';
import { StateBadge } from '../ui/state-badge';
import { Usage } from '../ui/usage';

export function NodesTable({ nodes }: { nodes: readonly FleetNode[] }) {
  return (
    <div className="table-scroll">
      <table className="table">
        <caption>Nodes</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">State</th>
            <th scope="col">VMM jail</th>
            <th scope="col" className="optional">
              Labels
            </th>
            <th scope="col" className="optional">
              Accelerator
            </th>
            <th scope="col" className="optional">
              Hypervisors
            </th>
            <th scope="col">vCPUs used</th>
            <th scope="col">Memory used</th>
            <th scope="col">Sandboxes</th>
            <th scope="col" className="optional">
              Last heartbeat
            </th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((node) => (
            <tr key={node.id} data-node-id={node.id}>
              <th scope="row" className="mono">
                <Link href={`/nodes/${node.id}`}>{node.name}</Link>
              </th>
              <td>
                <StateBadge state={node.state} />
              </td>
              <td>
                <JailStatus jailed={node.jailed} />
              </td>
              <td className="optional">
                <Labels labels={node.labels} />
              </td>
              <td className="optional">{node.accel === 'kvm' ? 'KVM' : 'TCG (emulated)'}</td>
              <td className="optional">{node.hypervisors.join(', ')}</td>
              <td>
                <Usage used={node.allocated.vcpus} total={allocatableOf(node).vcpus} />
              </td>
              <td>
                <Usage used={node.allocated.memoryMiB} total={allocatableOf(node).memoryMiB} format={formatMemory} />
              </td>
              <td>{node.sandboxCount ?? '—'}</td>
              <td className="optional">
                <RelativeTime iso={node.lastHeartbeatAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Whether a node jails its VMMs; one that does not is flagged as a danger. */
export function JailStatus({ jailed }: { jailed: boolean }) {
  return jailed ? (
    <span className="badge badge--jailed">jailed</span>
  ) : (
    <span className="badge badge--unjailed" title="MOAT_JAIL=false: its VMMs run as root in the host namespaces, without seccomp">
      not jailed
    </span>
  );
}

export function Labels({ labels }: { labels: Record<string, string> | null | undefined }) {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return <span className="hint">none</span>;
  return (
    <ul className="labels">
      {entries.map(([k, v]) => (
        <li key={k} className="mono">
          {k}={v}
        </li>
      ))}
    </ul>
  );
}
