'use client';

import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { useFleet } from '@/lib/fleet/fleet.context';
import { textField } from '@/lib/form-data';
import type { ApiKey, CreatedApiKey } from '@moat/sdk';
import { ConfirmButton } from '../ui/confirm-button';
import { DataTable, type DataTableColumn } from '../ui/data-table';
import { LoadStatus } from '../ui/load-status';
import { RelativeTime } from '../ui/relative-time';
import { SecretOnce } from './secret-once';

const COLUMNS: readonly DataTableColumn[] = [
  { label: 'Name' },
  { label: 'Prefix' },
  { label: 'Created', optional: true },
  { label: 'Last used', optional: true },
  { label: 'State' },
];

/** A tenant's API keys: create (the key is shown once), list, revoke. */
export function ApiKeys({ tenantId }: { tenantId: string }) {
  const { api, explain } = useFleet();
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [busy, setBusy] = useState(false);
  const headingId = useId();

  const reload = useCallback(async () => {
    try {
      setKeys(await api.listApiKeys(tenantId));
      setError(null);
    } catch (err) {
      setError(`Could not load the API keys: ${explain(err)}`);
    }
  }, [api, explain, tenantId]);

  useEffect(() => {
    void reload();
  }, [reload]);

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const name = textField(new FormData(form), 'name').trim();
    setBusy(true);
    try {
      setCreated(await api.createApiKey(tenantId, name || undefined));
      form.reset();
      await reload();
    } catch (err) {
      setError(`Could not create the key: ${explain(err)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>API keys</h2>
      <form className="form form--inline" onSubmit={(e) => void create(e)}>
        <label className="field">
          <span>Key name</span>
          <input name="name" placeholder="optional" />
        </label>
        <button type="submit" className="button button--primary" disabled={busy}>
          Create key
        </button>
      </form>
      {created && <SecretOnce label={`New key ${created.name ?? created.prefix}`} secret={created.key} />}
      <LoadStatus loaded={keys !== null} error={error} empty={keys?.length === 0 ? 'No keys.' : null} />
      {keys && keys.length > 0 && (
        <DataTable caption="API keys" columns={COLUMNS}>
          {keys.map((key) => (
            <tr key={key.id}>
              <th scope="row">{key.name ?? '—'}</th>
              <td className="mono">{key.prefix}…</td>
              <td className="optional">
                <RelativeTime iso={key.createdAt} />
              </td>
              <td className="optional">{key.lastUsedAt ? <RelativeTime iso={key.lastUsedAt} /> : 'never'}</td>
              <td>
                {key.revokedAt ? (
                  'revoked'
                ) : (
                  <ConfirmButton
                    label="Revoke"
                    title={`Revoke key ${key.name ?? key.prefix}?`}
                    confirmLabel="Revoke key"
                    danger
                    onConfirm={async () => {
                      await api.revokeApiKey(tenantId, key.id);
                      await reload();
                    }}
                  >
                    <p>Requests with this key are refused from now on. This cannot be undone.</p>
                  </ConfirmButton>
                )}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}
