'use client';

import { useState, type FormEvent } from 'react';
import { useCollection, useFleet } from '@/lib/fleet/fleet.context';
import { textField } from '@/lib/form-data';
import { parseQuota } from '@/lib/forms';
import type { CreatedTenant } from '@moat/sdk';
import { useSubmission } from '../ui/use-submission';
import { CollectionPage, NameCell } from '../ui/collection-page';
import type { DataTableColumn } from '../ui/data-table';
import { FormCard } from '../ui/form-card';
import { StateBadge } from '../ui/state-badge';
import { SecretOnce } from './secret-once';

const COLUMNS: readonly DataTableColumn[] = [
  { label: 'Name' },
  { label: 'State' },
  { label: 'Max sandboxes' },
  { label: 'Max vCPUs', optional: true },
  { label: 'Max memory (MiB)', optional: true },
];

export function TenantsPage() {
  const tenants = useCollection('tenants');
  return (
    <CollectionPage
      title="Tenants"
      collection={tenants}
      columns={COLUMNS}
      empty="No tenants yet."
      form={<NewTenantForm />}
      row={(t) => (
        <tr key={t.id}>
          <NameCell href={`/tenants/${t.id}`} name={t.name} />
          <td>
            <StateBadge state={t.state} />
          </td>
          <td>{t.quota.maxSandboxes}</td>
          <td className="optional">{t.quota.maxVcpus}</td>
          <td className="optional">{t.quota.maxMemoryMiB}</td>
        </tr>
      )}
    />
  );
}

function NewTenantForm() {
  const { api, dispatch } = useFleet();
  const [created, setCreated] = useState<CreatedTenant | null>(null);
  const { errors, setErrors, busy, send } = useSubmission();

  function submit(event: FormEvent<HTMLFormElement>) {
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
    void send(async () => {
      const tenant = await api.createTenant(quota.quota ? { name, quota: quota.quota } : { name });
      const { apiKey: _key, ...visible } = tenant;
      dispatch({ type: 'upsert', collection: 'tenants', item: visible });
      setCreated(tenant);
      form.reset();
    });
  }

  return (
    <FormCard
      id="new-tenant"
      title="New tenant"
      submitLabel="Create tenant"
      busy={busy}
      errors={errors}
      onSubmit={submit}
      result={created && <SecretOnce label={`API key of ${created.name}`} secret={created.apiKey} />}
    >
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
    </FormCard>
  );
}
