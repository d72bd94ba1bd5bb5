'use client';

import Link from 'next/link';
import { useCollection, useFleet } from '@/lib/fleet/fleet.context';
import { ConfirmButton } from '../ui/confirm-button';
import { StateBadge } from '../ui/state-badge';
import { ApiKeys } from './api-keys';
import { TenantUsageCard } from './tenant-usage-card';

export function TenantDetail({ id }: { id: string }) {
  const { api, dispatch } = useFleet();
  const tenants = useCollection('tenants');
  const tenant = tenants.items[id];
  if (!tenant) {
    return (
      <>
        <h1>Tenant</h1>
        {tenants.error ? (
          <p role="alert">{tenants.error}</p>
        ) : (
          <p role="status">
            {tenants.loaded ? <>There is no tenant with this id. <Link href="/tenants">All tenants</Link></> : 'Loading…'}
          </p>
        )}
      </>
    );
  }
  const suspended = tenant.state === 'suspended';
  return (
    <>
      <div className="page__header">
        <div>
          <h1>Tenant {tenant.name}</h1>
          <p className="hint mono">{tenant.id}</p>
        </div>
        <div className="actions">
          <StateBadge state={tenant.state} />
          <ConfirmButton
            label={suspended ? 'Resume' : 'Suspend'}
            title={suspended ? `Resume ${tenant.name}?` : `Suspend ${tenant.name}?`}
            confirmLabel={suspended ? 'Resume tenant' : 'Suspend tenant'}
            danger={!suspended}
            onConfirm={async () => {
              const item = await api.tenantAction(tenant.id, suspended ? 'resume' : 'suspend');
              dispatch({ type: 'upsert', collection: 'tenants', item });
            }}
          >
            <p>
              {suspended
                ? 'The tenant may create sandboxes again.'
                : 'The tenant can still read, but may not create sandboxes until resumed.'}
            </p>
          </ConfirmButton>
        </div>
      </div>
      <div className="grid">
        <TenantUsageCard tenantId={tenant.id} />
        <ApiKeys tenantId={tenant.id} />
      </div>
    </>
  );
}
