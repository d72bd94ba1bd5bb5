'use client';

import { useEffect, useState } from 'react';
import { useFleet } from '@/lib/fleet/fleet.context';
import { formatMemory } from '@/lib/format';
import type { TenantUsage } from '@moat/sdk';
import { Usage } from '../ui/usage';

/** A tenant's usage against its quota; fetched again whenever one of its sandboxes changes. */
export function TenantUsageCard({ tenantId }: { tenantId: string }) {
  const { api, explain, state } = useFleet();
  const [usage, setUsage] = useState<TenantUsage | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Usage changes only when the tenant's sandboxes do, which the socket reports.
  const signature = Object.values(state.sandboxes.items)
    .filter((s) => s.tenantId === tenantId)
    .map((s) => `${s.id}:${s.state}`)
    .join(',');

  useEffect(() => {
    let current = true;
    api.tenantUsage(tenantId).then(
      (u) => {
        if (!current) return;
        setUsage(u);
        setError(null);
      },
      (err: unknown) => {
        if (current) setError(`Could not load the usage: ${explain(err)}`);
      },
    );
    return () => {
      current = false;
    };
  }, [api, explain, tenantId, signature]);

  return (
    <section className="card" aria-labelledby={`usage-${tenantId}`}>
      <h2 id={`usage-${tenantId}`}>Quota and usage</h2>
      {error && (
        <p className="banner banner--inline" role="alert">
          {error}
        </p>
      )}
      {!usage && !error && <p role="status">Loading…</p>}
      {usage && (
        <dl className="facts">
          <dt>Sandboxes</dt>
          <dd>
            <Usage used={usage.sandboxes} total={usage.quota.maxSandboxes} />
          </dd>
          <dt>vCPUs</dt>
          <dd>
            <Usage used={usage.vcpus} total={usage.quota.maxVcpus} />
          </dd>
          <dt>Memory</dt>
          <dd>
            <Usage used={usage.memoryMiB} total={usage.quota.maxMemoryMiB} format={formatMemory} />
          </dd>
        </dl>
      )}
    </section>
  );
}
