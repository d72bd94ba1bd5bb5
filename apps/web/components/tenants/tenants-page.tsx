'use client';

import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { useCollection, useFleet } from '@/lib/fleet/fleet.context';
import { listByName } from '@/lib/fleet/fleet.reducer';
import { textField } from '@/lib/form-data';
import { parseQuota } from '@/lib/forms';
import type { CreatedTenant } from '@/lib/types';
import { LoadStatus } from '../ui/load-status';
import { StateBadge } from '../ui/state-badge';
import { SecretOnce } from './secret-once';
import { ErrorList } from '../ui/error-list';

export function TenantsPage() {
  const tenants = useCollection('tenants');
  const list = listByName(tenants.items);
  return (
    <>
      <h1>Tenants</h1>
      <div className="grid grid--main-side">
        <section className="card card--flush">
          <div className="table-scroll">
            <table className="table">
              <caption>Tenants</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">State</th>
                  <th scope="col">Max sandboxes</th>
                  <th scope="col" className="optional">
                    Max vCPUs
                  </th>
                  <th scope="col" className="optional">
                    Max memory (MiB)
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((t) => (
                  <tr key={t.id}>
                    <th scope="row">
                      <Link href={`/tenants/${t.id}`}>{t.name}</Link>
                    </th>
                    <td>
                      <StateBadge state={t.state ?? 'active'} />
                    </td>
                    <td>{t.quota.maxSandboxes}</td>
                    <td className="optional">{t.quota.maxVcpus}</td>
                    <td className="optional">{t.quota.maxMemoryMiB}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <LoadStatus loaded={tenants.loaded} error={tenants.error} empty={list.length === 0 ? 'No tenants yet.' : null} />
        </section>
        <NewTenantForm />
      </div>
    </>
  );
}

function NewTenantForm() {
  const { api, dispatch, explain } = useFleet();
  const [created, setCreated] = useState<CreatedTenant | null>(null);
  const [errors, setErrors] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const name = textField(data, 'name').trim();
    const quota = parseQuota({
      maxSandboxes: textField(data, 'maxSandboxes'),
      maxVcpus: textField(data, 'maxVcpus'),
      maxMemoryMiB: textField(data, 'maxMemoryMiB'),
    });
    const problems = [...(name ? [] : ['Enter a name.']), ...quota.errors];
    setErrors(problems);
    if (problems.length > 0) return;
    setBusy(true);
    try {
      const tenant = await api.createTenant(quota.quota ? { name, quota: quota.quota } : { name });
      const { apiKey: _key, ...visible } = tenant;
      dispatch({ type: 'upsert', collection: 'tenants', item: visible });
      setCreated(tenant);
      form.reset();
    } catch (err) {
      setErrors([explain(err)]);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="new-tenant">
      <h2 id="new-tenant">New tenant</h2>
      <form className="form" onSubmit={(e) => void submit(e)} noValidate>
        <label className="field">
          <span>Name</span>
          <input name="name" required autoComplete="off" />
        </label>
        <div className="form__row">
          <label className="field">
            <span>Max sandboxes</span>
            <input name="maxSandboxes" type="number" min={0} inputMode="numeric" placeholder="default" />
          </label>
          <label className="field">
            <span>Max vCPUs</span>
            <input name="maxVcpus" type="number" min={0} inputMode="numeric" placeholder="default" />
          </label>
        </div>
        <label className="field">
          <span>Max memory (MiB)</span>
          <input name="maxMemoryMiB" type="number" min={0} inputMode="numeric" placeholder="default" />
        </label>
        <button type="submit" className="button button--primary" disabled={busy}>
          Create tenant
        </button>
        {created && <SecretOnce label={`API key of ${created.name}`} secret={created.apiKey} />}
        <ErrorList messages={errors} />
      </form>
    </section>
  );
}
