'use client';

import Link from 'next/link';
import { useFleet } from '@/lib/fleet/fleet.context';
import { listByName, sandboxList } from '@/lib/fleet/fleet.reducer';
import { shortId } from '@/lib/format';
import { StateBadge } from '../ui/state-badge';

interface Problem {
  key: string;
  href: string;
  what: string;
  state: string;
  why: string;
}

/** Failing things first: what an operator should look at before anything else. */
export function Attention() {
  const { state } = useFleet();
  const problems: Problem[] = [
    ...listByName(state.nodes.items)
      .filter((n) => n.state === 'down' || n.state === 'draining' || n.state === 'unknown')
      .map((n) => ({
        key: `node-${n.id}`,
        href: `/nodes/${n.id}`,
        what: `Node ${n.name}`,
        state: n.state,
        why:
          n.state === 'down'
            ? 'No heartbeat; its sandboxes are unknown.'
            : n.state === 'unknown'
              ? 'Not reconnected since the control plane restarted; its sandboxes show their last known state.'
              : 'Draining its sandboxes.',
      })),
    ...sandboxList(state.sandboxes.items)
      .filter((s) => s.state === 'failed' || s.state === 'unknown' || s.health === 'unhealthy')
      .map((s) => ({
        key: `sandbox-${s.id}`,
        href: `/sandboxes/${s.id}`,
        what: `Sandbox ${shortId(s.id)}`,
        state: s.state === 'running' ? 'unhealthy' : s.state,
        why: s.error?.message ?? (s.state === 'unknown' ? 'Its node stopped reporting.' : 'Its health check fails.'),
      })),
    ...Object.values(state.rollouts.items)
      .filter((r) => r.state === 'failed' || r.state === 'paused' || r.state === 'rolled-back')
      .filter((r) => state.deployments.items[r.deploymentId]?.currentRolloutId === r.id)
      .map((r) => ({
        key: `rollout-${r.id}`,
        href: `/rollouts/${r.id}`,
        what: `Rollout ${shortId(r.id)} (v${r.fromVersion} → v${r.toVersion})`,
        state: r.state,
        why: r.reason ?? 'Waiting for an operator.',
      })),
  ];
  return (
    <section className="card" aria-labelledby="attention-heading">
      <h2 id="attention-heading">Needs attention</h2>
      {problems.length === 0 ? (
        <p className="hint">Nothing is failing.</p>
      ) : (
        <ul className="attention">
          {problems.map((p) => (
            <li key={p.key}>
              <StateBadge state={p.state} /> <Link href={p.href}>{p.what}</Link> <span className="hint">{p.why}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
