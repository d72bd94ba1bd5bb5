/** What happens to a sandbox its node reports `failed`. */
export const RESTART_POLICY_TYPES = ['never', 'on-failure'] as const;
export type RestartPolicyType = (typeof RESTART_POLICY_TYPES)[number];

/**
 * A restart policy as stored and shown, defaults filled in. `on-failure`: a sandbox its node
 * reports `failed` is started again on its node, under the same id as a fresh VM, after
 * `backoffSeconds` (doubled after each restart, at most {@link MAX_BACKOFF_SECONDS}), until
 * `maxRestarts` restarts are used up; then it stays `failed`.
 */
export type RestartPolicy = { type: 'never' } | { type: 'on-failure'; maxRestarts: number; backoffSeconds: number };

export const NEVER_RESTART: RestartPolicy = { type: 'never' };
export const RESTART_DEFAULTS = { maxRestarts: 3, backoffSeconds: 1 } as const;
/** The most restarts a policy may allow. */
export const MAX_RESTARTS = 100;
/** The longest wait before a restart, whatever the doubling reached. */
export const MAX_BACKOFF_SECONDS = 300;

/** The policy as asked for (type and optional limits), with defaults. */
export function resolveRestartPolicy(asked: { type: RestartPolicyType; maxRestarts?: number; backoffSeconds?: number } | undefined): RestartPolicy {
  if (!asked || asked.type === 'never') return NEVER_RESTART;
  return {
    type: 'on-failure',
    maxRestarts: asked.maxRestarts ?? RESTART_DEFAULTS.maxRestarts,
    backoffSeconds: asked.backoffSeconds ?? RESTART_DEFAULTS.backoffSeconds,
  };
}

/** Seconds to wait before restart number `restartCount + 1`: the backoff, doubled after each restart, capped. */
export function restartDelaySeconds(backoffSeconds: number, restartCount: number): number {
  // 2^9 × 1 s already passes the cap: no need to compute larger powers.
  return Math.min(MAX_BACKOFF_SECONDS, backoffSeconds * 2 ** Math.min(restartCount, 16));
}

/**
 * When a sandbox that failed at `failedAt`, having been restarted `restartCount` times, is to
 * be restarted; null when its policy says it stays failed.
 */
export function restartDueAt(policy: RestartPolicy, restartCount: number, failedAt: Date): Date | null {
  if (policy.type !== 'on-failure' || restartCount >= policy.maxRestarts) return null;
  return new Date(failedAt.getTime() + restartDelaySeconds(policy.backoffSeconds, restartCount) * 1000);
}
