'use client';

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { localInputToIso, matchesAudit } from '@/lib/audit-filter';
import { useFleet } from '@/lib/fleet/fleet.context';
import { textField } from '@/lib/form-data';
import { formatTimestamp } from '@/lib/format';
import type { AuditEntry, AuditQuery } from '@moat/sdk';
import { DataTable, type DataTableColumn } from '../ui/data-table';
import { LoadStatus } from '../ui/load-status';
import { StateBadge } from '../ui/state-badge';

const PAGE_SIZE = 50;
const FILTERS: readonly { name: string; label: string; placeholder?: string; type?: 'datetime-local' }[] = [
  { name: 'actor', label: 'Actor', placeholder: 'id or admin / tenant / node' },
  { name: 'action', label: 'Action', placeholder: 'e.g. node.cordon' },
  { name: 'targetType', label: 'Target type', placeholder: 'e.g. sandbox' },
  { name: 'targetId', label: 'Target id' },
  { name: 'since', label: 'Since', type: 'datetime-local' },
  { name: 'until', label: 'Until', type: 'datetime-local' },
];
const COLUMNS: readonly DataTableColumn[] = [
  { label: 'Time' },
  { label: 'Actor' },
  { label: 'Action' },
  { label: 'Target' },
  { label: 'Result' },
  { label: 'Message', optional: true },
];

export function AuditPage() {
  const { api, explain, onAudit } = useFleet();
  const [query, setQuery] = useState<AuditQuery>({});
  const [items, setItems] = useState<AuditEntry[] | null>(null);
  const [nextBefore, setNextBefore] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const fetchPage = useCallback(
    async (q: AuditQuery, before?: string) => {
      try {
        const page = await api.audit({ ...q, limit: PAGE_SIZE, before: before === undefined ? undefined : Number(before) });
        setItems((previous) => (before && previous ? [...previous, ...page.items] : page.items));
        setNextBefore(page.nextBefore);
        setError(null);
      } catch (err) {
        setError(`Could not load the audit log: ${explain(err)}`);
      }
    },
    [api, explain],
  );

  useEffect(() => {
    void fetchPage(query);
  }, [fetchPage, query]);

  useEffect(
    () =>
      onAudit((entry) => {
        if (matchesAudit(entry, query)) setItems((previous) => (previous ? [entry, ...previous] : previous));
      }),
    [onAudit, query],
  );

  function search(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const q: AuditQuery = {};
    for (const key of ['actor', 'action', 'targetType', 'targetId'] as const) {
      const value = textField(data, key).trim();
      if (value) q[key] = value;
    }
    const since = localInputToIso(textField(data, 'since'));
    const until = localInputToIso(textField(data, 'until'));
    if (since) q.since = since;
    if (until) q.until = until;
    setItems(null);
    setQuery(q);
  }

  return (
    <>
      <h1>Audit log</h1>
      <section className="card">
        <form className="filters" role="search" aria-label="Search the audit log" onSubmit={search}>
          {FILTERS.map((filter) => (
            <label key={filter.name} className="field">
              <span>{filter.label}</span>
              <input name={filter.name} placeholder={filter.placeholder} type={filter.type} />
            </label>
          ))}
          <button type="submit" className="button button--primary">
            Search
          </button>
        </form>
      </section>
      <section className="card card--flush">
        <DataTable caption="Audit entries" columns={COLUMNS}>
          {(items ?? []).map((e) => (
            <tr key={e.id}>
              <td>
                <time dateTime={e.at}>{formatTimestamp(e.at)}</time>
              </td>
              <td className="mono">
                {e.actor.kind} {e.actor.id.slice(0, 8)}
              </td>
              <th scope="row" className="mono">
                {e.action}
              </th>
              <td className="mono">
                {e.targetType} {e.targetId?.slice(0, 8) ?? ''}
              </td>
              <td>
                <StateBadge state={e.result} /> <span className="hint">{e.status}</span>
              </td>
              <td className="optional">{e.message ?? ''}</td>
            </tr>
          ))}
        </DataTable>
        <LoadStatus loaded={items !== null} error={error} empty={items?.length === 0 ? 'No entries match.' : null} />
        {nextBefore && (
          <button type="button" className="button" onClick={() => void fetchPage(query, nextBefore)}>
            Load older entries
          </button>
        )}
      </section>
    </>
  );
}
