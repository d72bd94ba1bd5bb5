'use client';

import Link from 'next/link';
import { useFleet } from '@/lib/fleet/fleet.context';
import { sandboxList } from '@/lib/fleet/fleet.reducer';
import { formatMemory, nodeLabel, shortId } from '@/lib/format';
import { LoadingRow } from './loading-row';
import { RelativeTime } from './relative-time';
import { StateBadge } from './state-badge';

export function SandboxesTable() {
  const { state } = useFleet();
  const sandboxes = sandboxList(state);
  return (
    <div className="table-scroll">
      <table className="table">
        <caption>Sandboxes</caption>
        <thead>
          <tr>
            <th scope="col">Sandbox</th>
            <th scope="col">State</th>
            <th scope="col" className="optional">
              Node
            </th>
            <th scope="col">vCPUs</th>
            <th scope="col">Memory</th>
            <th scope="col" className="optional">
              Created
            </th>
          </tr>
        </thead>
        <tbody>
          {sandboxes.map((sandbox) => (
            <tr key={sandbox.id} data-sandbox-id={sandbox.id}>
              <th scope="row">
                <Link href={`/sandboxes/${sandbox.id}`} className="mono" title={sandbox.id}>
                  {shortId(sandbox.id)}
                </Link>
              </th>
              <td>
                <StateBadge state={sandbox.state} />
              </td>
              <td className="mono optional">{nodeLabel(sandbox.nodeId, state.nodes)}</td>
              <td>{sandbox.vcpus}</td>
              <td>{formatMemory(sandbox.memoryMiB)}</td>
              <td className="optional">
                <RelativeTime iso={sandbox.createdAt} />
              </td>
            </tr>
          ))}
          {state.loaded && sandboxes.length === 0 && (
            <tr>
              <td colSpan={6} className="table__empty">
                No sandboxes yet.
              </td>
            </tr>
          )}
          {!state.loaded && <LoadingRow columns={6} />}
        </tbody>
      </table>
    </div>
  );
}
