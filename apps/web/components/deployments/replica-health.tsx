import type { Deployment } from '@moat/sdk';

/** Healthy, unhealthy and missing replicas as one stacked bar, with the numbers in words. */
export function ReplicaHealth({ counts }: { counts: Deployment['counts'] }) {
  const total = Math.max(counts.desired, counts.running, 1);
  const pct = (n: number) => `${(n / total) * 100}%`;
  const starting = Math.max(0, counts.running - counts.healthy - counts.unhealthy);
  return (
    <span className="replicas">
      <span>
        {counts.healthy} healthy, {counts.unhealthy} unhealthy, {counts.running} of {counts.desired} running
      </span>
      <span className="replicas__track" aria-hidden="true">
        <span className="replicas__healthy" style={{ width: pct(counts.healthy) }} />
        <span className="replicas__starting" style={{ width: pct(starting) }} />
        <span className="replicas__unhealthy" style={{ width: pct(counts.unhealthy) }} />
      </span>
    </span>
  );
}
