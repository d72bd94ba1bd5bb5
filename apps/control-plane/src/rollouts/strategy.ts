export const STRATEGY_TYPES = ['rolling', 'canary', 'blue-green', 'immediate'] as const;
export type StrategyType = (typeof STRATEGY_TYPES)[number];

/** A count of sandboxes, or a percentage of the desired replicas such as "10%". */
export type CountOrPercent = number | string;

/** How a deployment moves to a new template version (Kubernetes/Argo-style knobs). */
export interface RolloutStrategy {
  type: StrategyType;
  maxUnavailable?: CountOrPercent;
  maxSurge?: CountOrPercent;
  canaryReplicas?: number;
  autoPromote?: boolean;
  minHealthySeconds?: number;
  progressDeadlineSeconds?: number;
  autoRollback?: boolean;
}

export const PERCENT_PATTERN = /^(100|[1-9]?[0-9])%$/;
export const DEFAULT_MAX_UNAVAILABLE = '25%';
export const DEFAULT_MAX_SURGE = '25%';
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;

/** Resolves a count or percentage against `total`; percentages round up or down as asked. */
export function resolveCount(value: CountOrPercent, total: number, round: 'up' | 'down'): number {
  if (typeof value === 'number') return value;
  const share = (Number(value.slice(0, -1)) / 100) * total;
  return round === 'up' ? Math.ceil(share) : Math.floor(share);
}

/**
 * The surge and unavailability budgets for `desired` replicas, as Kubernetes computes them
 * (surge rounds up, unavailable down); both zero would never progress, so one is allowed.
 */
export function budgets(strategy: RolloutStrategy, desired: number): { maxSurge: number; maxUnavailable: number } {
  const maxSurge = resolveCount(strategy.maxSurge ?? DEFAULT_MAX_SURGE, desired, 'up');
  const maxUnavailable = resolveCount(strategy.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE, desired, 'down');
  return { maxSurge, maxUnavailable: maxSurge === 0 && maxUnavailable === 0 ? 1 : maxUnavailable };
}
