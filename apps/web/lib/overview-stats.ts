import type { FleetNode, Resources, Sandbox } from '@moat/sdk';

export interface Bucket {
  /** Start of the bucket, epoch ms. */
  start: number;
  value: number;
}

/** Sandboxes created per bucket over the `count` buckets that end at `now`, oldest first. */
export function creationRate(sandboxes: readonly Sandbox[], now: number, bucketMs: number, count: number): Bucket[] {
  const first = now - bucketMs * count;
  const buckets = Array.from({ length: count }, (_, i) => ({ start: first + i * bucketMs, value: 0 }));
  for (const sandbox of sandboxes) {
    const index = Math.floor((Date.parse(sandbox.createdAt) - first) / bucketMs);
    const bucket = buckets[index];
    if (bucket) bucket.value += 1;
  }
  return buckets;
}

export interface StartLatency {
  id: string;
  createdAt: string;
  ms: number;
}

/** Start time (sum of the runtime's phase timings) of the newest `limit` started sandboxes, oldest first. */
export function startLatencies(sandboxes: readonly Sandbox[], limit: number): StartLatency[] {
  return sandboxes
    .filter((s) => s.timings.length > 0)
    .map((s) => ({ id: s.id, createdAt: s.createdAt, ms: s.timings.reduce((sum, t) => sum + t.ms, 0) }))
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))
    .slice(-limit);
}

/** The median of some numbers; null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** How many items are in each state, for the states given (in that order), zeros included. */
export function countByState<S extends string>(items: readonly { state: S }[], states: readonly S[]): [S, number][] {
  const counts = new Map<S, number>(states.map((s) => [s, 0]));
  for (const item of items) counts.set(item.state, (counts.get(item.state) ?? 0) + 1);
  return [...counts];
}

/** What the nodes that can take work (not down) offer to sandboxes, and what is allocated of it. */
export function fleetCapacity(nodes: readonly FleetNode[]): { capacity: Resources; allocated: Resources } {
  const live = nodes.filter((n) => n.state !== 'down');
  const sum = (pick: (n: FleetNode) => Resources, key: keyof Resources) => live.reduce((t, n) => t + pick(n)[key], 0);
  return {
    capacity: { vcpus: sum((n) => n.allocatable, 'vcpus'), memoryMiB: sum((n) => n.allocatable, 'memoryMiB') },
    allocated: { vcpus: sum((n) => n.allocated, 'vcpus'), memoryMiB: sum((n) => n.allocated, 'memoryMiB') },
  };
}
