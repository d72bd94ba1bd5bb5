'use client';

import { useFleet } from '@/lib/fleet/fleet.context';
import { ApiKeys } from './api-keys';
import { TenantUsageCard } from './tenant-usage-card';

/** A tenant's own page: its quota, usage and API keys. */
export function AccountPage() {
  const { session } = useFleet();
  if (!session.tenant) {
    return (
      <>
        <h1>Account</h1>
        <p role="status">This control plane does not say which tenant this key belongs to.</p>
      </>
    );
  }
  return (
    <>
      <h1>Account {session.tenant.name}</h1>
      <div className="grid">
        <TenantUsageCard tenantId={session.tenant.id} />
        <ApiKeys tenantId={session.tenant.id} />
      </div>
    </>
  );
}
