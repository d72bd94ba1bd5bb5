'use client';

import Link from 'next/link';
import { formatMemory } from '@/lib/format';
import type { FleetNode } from '@moat/sdk';
import { DataTable, type DataTableColumn } from '../ui/data-table';
import { RelativeTime } from '../ui/relative-time';
import { StateBadge } from '../ui/state-badge';
import { Usage } from '../ui/usage';

const COLUMNS: readonly DataTableColumn[] = [
  { label: 'Name' },
  { label: 'State' },
  { label: 'VMM jail' },
  { label: 'Labels', optional: true },
  { label: 'Accelerator', optional: true },
  { label: 'Hypervisors', optional: true },
  { label: 'vCPUs used' },
  { label: 'Memory used' },
  { label: 'Sandboxes' },
  { label: 'Last heartbeat', optional: true },
];

export function NodesTable({ nodes }: { nodes: readonly FleetNode[] }) {
  return (
    <DataTable caption="Nodes" columns={COLUMNS}>
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
            <Usage used={node.allocated.vcpus} total={node.allocatable.vcpus} />
          </td>
          <td>
            <Usage used={node.allocated.memoryMiB} total={node.allocatable.memoryMiB} format={formatMemory} />
          </td>
          <td>{node.sandboxCount}</td>
          <td className="optional">
            <RelativeTime iso={node.lastHeartbeatAt} />
          </td>
        </tr>
      ))}
    </DataTable>
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
