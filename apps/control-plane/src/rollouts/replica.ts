import type { SandboxState } from '@moat/proto';
import type { SandboxHealth } from '../sandboxes/model/sandbox.entity';

/** What the reconciler needs to know about one deployment-managed sandbox meant to run. */
export interface Replica {
  id: string;
  nodeId: string | null;
  version: number;
  state: SandboxState;
  health: SandboxHealth;
  healthySince: Date | null;
  createdAt: Date;
  /** Its node is draining, down or no longer eligible: it must move elsewhere. */
  displaced: boolean;
  /** Failed, and its restart policy starts it again on its node: it is not replaced meanwhile. */
  restarting?: boolean;
}

/** What a planner decided for one deployment in one pass. */
export interface ReplicaActions {
  /** How many new sandboxes of which version to start. */
  create: { version: number; count: number }[];
  /** Sandboxes to stop. */
  remove: string[];
}

/** Running and passing its health check. */
export function isServing(replica: Replica): boolean {
  return replica.state === 'running' && replica.health === 'healthy';
}

/** Serving without interruption for at least `minHealthySeconds`, on a node it may stay on. */
export function isAvailable(replica: Replica, now: Date, minHealthySeconds = 0): boolean {
  return (
    isServing(replica) &&
    !replica.displaced &&
    replica.healthySince !== null &&
    now.getTime() - replica.healthySince.getTime() >= minHealthySeconds * 1000
  );
}

/**
 * Failed with no restart left: its node reported it failed and its restart policy (if
 * `on-failure`) has used up its restarts. One still to be restarted is only not serving.
 */
export function isFailedForGood(replica: Replica): boolean {
  return replica.state === 'failed' && replica.restarting !== true;
}

/** Gave up: failed for good, or its health check failed past the threshold. */
export function isBroken(replica: Replica): boolean {
  return isFailedForGood(replica) || replica.health === 'unhealthy';
}

/** Order in which to give up replicas: broken, then not serving, then the newest. */
export function removalOrder(a: Replica, b: Replica): number {
  const rank = (r: Replica): number => (isBroken(r) ? 0 : r.displaced ? 1 : isServing(r) ? 3 : 2);
  return rank(a) - rank(b) || b.createdAt.getTime() - a.createdAt.getTime();
}

/**
 * Steady state: `desired` replicas of `version`, replacing broken ones. Replicas of other
 * versions (after a rollback or an aborted rollout) and displaced ones keep serving only
 * until enough available replicas of `version` replace them.
 */
export function planSteadyState(replicas: readonly Replica[], version: number, desired: number, now: Date): ReplicaActions {
  const remove: Replica[] = replicas.filter(isBroken);
  const healthy = replicas.filter((r) => !isBroken(r));
  const current = healthy.filter((r) => r.version === version && !r.displaced).sort(removalOrder);
  const surplus = Math.max(0, current.length - desired);
  remove.push(...current.slice(0, surplus));
  const kept = current.slice(surplus);

  const available = kept.filter((r) => isAvailable(r, now)).length;
  const others = healthy.filter((r) => r.version !== version || r.displaced);
  const stillNeeded = Math.max(0, desired - available);
  const servingOthers = others.filter(isServing).sort(removalOrder).reverse();
  const keptOthers = new Set(servingOthers.slice(0, stillNeeded));
  remove.push(...others.filter((r) => !keptOthers.has(r)));

  const missing = desired - kept.length;
  return { create: missing > 0 ? [{ version, count: missing }] : [], remove: remove.map((r) => r.id) };
}
