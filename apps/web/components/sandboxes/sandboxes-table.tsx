'use client';

import Link from 'next/link';
import { useState } from 'react';
import { useFleet } from '@/lib/fleet/fleet.context';
import { listByName } from '@/lib/fleet/fleet.reducer';
import { containerdLabel, formatMemory, nodeLabel, shortId } from '@/lib/format';
import {
  NO_FILTER,
  filterSandboxes,
  sortSandboxes,
  type SandboxFilter,
  type SandboxSortKey,
  type SortDirection,
} from '@/lib/sandbox-table';
import { SANDBOX_STATES, type Sandbox } from '@moat/sdk';
import { DataTable, type DataTableColumn } from '../ui/data-table';
import { RelativeTime } from '../ui/relative-time';
import { StateBadge } from '../ui/state-badge';

const COLUMNS: { key: SandboxSortKey; label: string; optional?: boolean }[] = [
  { key: 'id', label: 'Sandbox' },
  { key: 'state', label: 'State' },
  { key: 'node', label: 'Node', optional: true },
  { key: 'vcpus', label: 'vCPUs' },
  { key: 'memoryMiB', label: 'Memory' },
  { key: 'createdAt', label: 'Created', optional: true },
];

/** Sandboxes with filters and sortable columns; the sort buttons say their order to screen readers. */
export function SandboxesTable({ sandboxes, filters = true }: { sandboxes: readonly Sandbox[]; filters?: boolean }) {
  const { state } = useFleet();
  const [filter, setFilter] = useState<SandboxFilter>(NO_FILTER);
  const [sort, setSort] = useState<{ key: SandboxSortKey; direction: SortDirection }>({
    key: 'createdAt',
    direction: 'descending',
  });
  const name = (id: string | null) => nodeLabel(id, state.nodes.items);
  const rows = sortSandboxes(filterSandboxes(sandboxes, filter, name), sort.key, sort.direction, name);
  const nodes = listByName(state.nodes.items);

  return (
    <>
      {filters && (
        <div className="filters" role="search" aria-label="Filter sandboxes">
          <label className="field">
            <span>Search</span>
            <input
              type="search"
              value={filter.text}
              placeholder="id, image, label"
              onChange={(e) => setFilter({ ...filter, text: e.target.value })}
            />
          </label>
          <label className="field">
            <span>State</span>
            <select value={filter.state} onChange={(e) => setFilter({ ...filter, state: e.target.value })}>
              <option value="">any</option>
              {SANDBOX_STATES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          {nodes.length > 0 && (
            <label className="field">
              <span>Node</span>
              <select value={filter.nodeId} onChange={(e) => setFilter({ ...filter, nodeId: e.target.value })}>
                <option value="">any</option>
                {nodes.map((n) => (
                  <option key={n.id} value={n.id}>
                    {n.name}
                  </option>
                ))}
              </select>
            </label>
          )}
        </div>
      )}
      <DataTable
        caption="Sandboxes"
        columns={COLUMNS.map((col): DataTableColumn => {
          const active = sort.key === col.key;
          return {
            optional: col.optional,
            sort: active ? sort.direction : undefined,
            label: (
              <button
                type="button"
                className="sort"
                onClick={() =>
                  setSort({
                    key: col.key,
                    direction: active && sort.direction === 'ascending' ? 'descending' : 'ascending',
                  })
                }
              >
                {col.label}
                <span aria-hidden="true">{active ? (sort.direction === 'ascending' ? ' ▲' : ' ▼') : ''}</span>
              </button>
            ),
          };
        })}
      >
        {rows.map((sandbox) => (
          <tr key={sandbox.id} data-sandbox-id={sandbox.id}>
            <th scope="row">
              <Link href={`/sandboxes/${sandbox.id}`} className="mono" title={sandbox.id}>
                {shortId(sandbox.id)}
              </Link>
            </th>
            <td>
              <StateBadge state={sandbox.state} />
              {sandbox.health === 'unhealthy' && <StateBadge state="unhealthy" />}
              {containerdLabel(sandbox) && (
                <span className="badge badge--containerd" data-origin="containerd" title="Started through containerd: containerd manages it">
                  {containerdLabel(sandbox)}
                </span>
              )}
              {sandbox.pendingReason && (
                <p className="hint" data-pending-reason={sandbox.pendingReason.code}>
                  {sandbox.pendingReason.message}
                </p>
              )}
            </td>
            <td className="mono optional">{name(sandbox.nodeId)}</td>
            <td>{sandbox.vcpus}</td>
            <td>{formatMemory(sandbox.memoryMiB)}</td>
            <td className="optional">
              <RelativeTime iso={sandbox.createdAt} />
            </td>
          </tr>
        ))}
      </DataTable>
      {state.sandboxes.loaded && rows.length === 0 && (
        <p className="table__empty">{sandboxes.length === 0 ? 'No sandboxes yet.' : 'No sandbox matches the filter.'}</p>
      )}
    </>
  );
}
