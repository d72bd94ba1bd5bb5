'use client';

import Link from 'next/link';
import { useEffect, useState } from 'react';
import { useCollection, useFleet } from '@/lib/fleet/fleet.context';
import { listByName, sandboxList } from '@/lib/fleet/fleet.reducer';
import { formatDuration, formatMemory, shortId } from '@/lib/format';
import { countByState, creationRate, fleetCapacity, median, startLatencies } from '@/lib/overview-stats';
import { NODE_STATES, SANDBOX_STATES } from '@moat/sdk';
import { BarChart } from '../ui/bar-chart';
import { LoadStatus } from '../ui/load-status';
import { StateBadge } from '../ui/state-badge';
import { Usage } from '../ui/usage';
import { TenantUsageCard } from '../tenants/tenant-usage-card';
import { Attention } from './attention';

const RATE_BUCKET_MS = 60_000;
const RATE_BUCKETS = 30;
const LATENCY_SAMPLES = 30;

export function Overview() {
  const { session } = useFleet();
  const sandboxes = useCollection('sandboxes');
  const list = sandboxList(sandboxes.items);
  return (
    <>
      <h1>Overview</h1>
      <Attention />
      <div className="grid">
        {session.role === 'admin' ? <FleetHealth /> : session.tenant && <TenantUsageCard tenantId={session.tenant.id} />}
        <section className="card" aria-labelledby="sandbox-states">
          <h2 id="sandbox-states">Sandboxes by state</h2>
          <LoadStatus loaded={sandboxes.loaded} error={sandboxes.error} empty={null} />
          <ul className="counts">
            {countByState(list, SANDBOX_STATES).map(([state, count]) => (
              <li key={state}>
                <StateBadge state={state} /> <strong>{count}</strong>
              </li>
            ))}
          </ul>
          <Link href="/sandboxes">All sandboxes</Link>
        </section>
      </div>
      <Charts />
    </>
  );
}

function FleetHealth() {
  const nodes = useCollection('nodes');
  const list = listByName(nodes.items);
  const { capacity, allocated } = fleetCapacity(list);
  return (
    <section className="card" aria-labelledby="fleet-health">
      <h2 id="fleet-health">Fleet health</h2>
      <LoadStatus loaded={nodes.loaded} error={nodes.error} empty={list.length === 0 ? 'No nodes have joined yet.' : null} />
      <ul className="counts">
        {countByState(list, NODE_STATES).map(([state, count]) => (
          <li key={state}>
            <StateBadge state={state} /> <strong>{count}</strong>
          </li>
        ))}
      </ul>
      <dl className="facts">
        <dt>vCPUs allocated</dt>
        <dd>
          <Usage used={allocated.vcpus} total={capacity.vcpus} />
        </dd>
        <dt>Memory allocated</dt>
        <dd>
          <Usage used={allocated.memoryMiB} total={capacity.memoryMiB} format={formatMemory} />
        </dd>
        <dt>Free</dt>
        <dd>
          {capacity.vcpus - allocated.vcpus} vCPUs, {formatMemory(capacity.memoryMiB - allocated.memoryMiB)}
        </dd>
      </dl>
      <Link href="/nodes">All nodes</Link>
    </section>
  );
}

function Charts() {
  const { state } = useFleet();
  const list = sandboxList(state.sandboxes.items);
  // The rate chart slides with the clock (a local tick, not a request).
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), RATE_BUCKET_MS / 4);
    return () => clearInterval(timer);
  }, []);
  const latencies = startLatencies(list, LATENCY_SAMPLES);
  const p50 = median(latencies.map((l) => l.ms));
  const max = Math.max(0, ...latencies.map((l) => l.ms));
  const rate = creationRate(list, now, RATE_BUCKET_MS, RATE_BUCKETS);
  const created = rate.reduce((sum, b) => sum + b.value, 0);
  return (
    <div className="grid">
      <section className="card" aria-labelledby="latency-heading">
        <h2 id="latency-heading">Start latency</h2>
        <BarChart
          title="Start latency"
          summary={
            p50 === null
              ? 'No sandbox has started yet.'
              : `Last ${latencies.length} starts: median ${formatDuration(p50)}, slowest ${formatDuration(max)}.`
          }
          bars={latencies.map((l) => ({ key: l.id, value: l.ms, label: `Sandbox ${shortId(l.id)}` }))}
          format={formatDuration}
        />
      </section>
      <section className="card" aria-labelledby="rate-heading">
        <h2 id="rate-heading">Creation rate</h2>
        <BarChart
          title="Creation rate"
          summary={`${created} sandboxes created in the last ${RATE_BUCKETS} minutes (per minute).`}
          bars={rate.map((b) => ({ key: String(b.start), value: b.value, label: new Date(b.start).toLocaleTimeString() }))}
          format={(n) => `${n} created`}
        />
      </section>
    </div>
  );
}
