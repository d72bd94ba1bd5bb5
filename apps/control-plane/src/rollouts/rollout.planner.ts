import {
  isAvailable,
  isBroken,
  isFailedForGood,
  isServing,
  removalOrder,
  type Replica,
  type ReplicaActions,
} from './replica';
import { budgets, DEFAULT_PROGRESS_DEADLINE_SECONDS, type RolloutStrategy } from './strategy';
import type { RolloutProgress, RolloutState, RolloutStep } from './rollout.entity';

/** Rolling rollouts report at most this many batch steps, however many replicas there are. */
const MAX_BATCH_STEPS = 100;

/** The steps a rollout will go through, all pending. */
export function initialSteps(strategy: RolloutStrategy, desired: number): RolloutStep[] {
  const names = ((): string[] => {
    switch (strategy.type) {
      case 'rolling': {
        const { maxSurge, maxUnavailable } = budgets(strategy, desired);
        const batch = Math.max(maxSurge + maxUnavailable, Math.ceil(desired / MAX_BATCH_STEPS), 1);
        const count = Math.max(1, Math.ceil(desired / batch));
        return Array.from({ length: count }, (_, i) => `batch ${i + 1}/${count}`);
      }
      case 'canary':
        return ['canary', 'promotion', 'roll out the rest'];
      case 'blue-green':
        return ['start green', 'promotion', 'switch and stop blue'];
      case 'immediate':
        return ['replace all'];
    }
  })();
  return names.map((name, index) => ({ index, name, state: 'pending', startedAt: null, finishedAt: null }));
}

/** The rollout as the planner sees and updates it. */
export interface RolloutView {
  strategy: RolloutStrategy;
  toVersion: number;
  state: RolloutState;
  promoted: boolean;
  steps: RolloutStep[];
  progress: RolloutProgress;
  lastProgressAt: Date;
}

export interface RolloutPlan extends ReplicaActions {
  /** The rollout after this pass (steps, progress, state, reason). */
  rollout: RolloutView & { reason?: string };
  /** Set when the rollout just finished this way. */
  outcome?: 'completed' | 'failed';
}

/**
 * One pass of a rollout: which replicas to start and stop now, and how far it has got.
 * A paused rollout only reports progress. A replica of the new version that fails (or whose
 * health check fails) or a rollout with no progress past its deadline fails the rollout; the
 * caller then rolls back if the strategy says so.
 */
export function planRollout(rollout: RolloutView, replicas: readonly Replica[], desired: number, now: Date): RolloutPlan {
  const { strategy, toVersion } = rollout;
  const minHealthySeconds = strategy.minHealthySeconds ?? 0;
  // A new replica that failed to start is replaced like any failed one (once its restart policy
  // gave up on it); only a failed health check fails the gate at once (repeated start failures
  // run into the progress deadline).
  const failedToStart = replicas.filter((r) => r.version === toVersion && isFailedForGood(r));
  const fresh = replicas.filter((r) => r.version === toVersion && !r.displaced && !isFailedForGood(r));
  const stale = replicas.filter((r) => (r.version !== toVersion || r.displaced) && !failedToStart.includes(r));
  const availableNew = fresh.filter((r) => isAvailable(r, now, minHealthySeconds)).length;
  const servingOld = stale.filter((r) => isServing(r) && !r.displaced);
  const progress: RolloutProgress = {
    old: stale.length,
    new: fresh.length,
    healthy: availableNew,
    unavailable: Math.max(0, desired - availableNew - servingOld.length),
    desired,
  };
  const moved = progress.healthy > rollout.progress.healthy || progress.old < rollout.progress.old;
  const next: RolloutPlan['rollout'] = {
    ...rollout,
    steps: rollout.steps.map((step) => ({ ...step })),
    progress,
    lastProgressAt: moved ? now : rollout.lastProgressAt,
  };
  const idle: RolloutPlan = { rollout: next, create: [], remove: [] };
  if (rollout.state !== 'progressing') return idle;

  const broken = fresh.find(isBroken);
  if (broken) return fail(next, `replica ${broken.id} of version ${toVersion} failed its health check`, now);
  const deadline = strategy.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
  if (now.getTime() - next.lastProgressAt.getTime() > deadline * 1000) {
    return fail(next, `no progress for ${deadline} s (progressDeadlineSeconds)`, now);
  }

  const steps = new StepTracker(next.steps, now);
  const actions = ((): ReplicaActions => {
    switch (strategy.type) {
      case 'rolling':
        steps.batches(availableNew, desired);
        return rolling(strategy, toVersion, fresh, stale, availableNew, servingOld.length, desired);
      case 'canary': {
        const canaries = Math.min(Math.max(strategy.canaryReplicas ?? 1, 1), desired);
        if (steps.state('canary') !== 'done') {
          steps.start('canary');
          if (availableNew < canaries) return { create: grow(toVersion, canaries - fresh.length), remove: removeBroken(stale) };
          steps.finish('canary');
        }
        if (!rollout.promoted && !strategy.autoPromote) {
          steps.start('promotion');
          return { create: [], remove: removeBroken(stale) };
        }
        steps.finish('promotion');
        steps.start('roll out the rest');
        return rolling(strategy, toVersion, fresh, stale, availableNew, servingOld.length, desired);
      }
      case 'blue-green': {
        steps.start('start green');
        if (availableNew < desired) return { create: grow(toVersion, desired - fresh.length), remove: removeBroken(stale) };
        steps.finish('start green');
        if (!rollout.promoted && strategy.autoPromote === false) {
          steps.start('promotion');
          return { create: [], remove: removeBroken(stale) };
        }
        steps.finish('promotion');
        steps.start('switch and stop blue');
        return { create: [], remove: stale.map((r) => r.id) };
      }
      case 'immediate':
        steps.start('replace all');
        return { create: grow(toVersion, desired - fresh.length), remove: stale.map((r) => r.id) };
    }
  })();

  const done = fresh.length === desired && availableNew === desired && stale.length === 0;
  if (!done) return { rollout: next, create: actions.create, remove: [...failedToStart.map((r) => r.id), ...actions.remove] };
  steps.finishAll();
  return { rollout: { ...next, state: 'completed' }, outcome: 'completed', create: [], remove: [] };
}

/**
 * Kubernetes' rolling update: start new replicas while the total stays within desired +
 * maxSurge, stop old ones while the available ones stay at or above desired − maxUnavailable.
 */
function rolling(
  strategy: RolloutStrategy,
  version: number,
  fresh: readonly Replica[],
  stale: readonly Replica[],
  availableNew: number,
  servingOld: number,
  desired: number,
): ReplicaActions {
  const { maxSurge, maxUnavailable } = budgets(strategy, desired);
  const toCreate = Math.min(desired - fresh.length, desired + maxSurge - (fresh.length + stale.length));
  const ordered = [...stale].sort(removalOrder);
  const notServing = ordered.filter((r) => !isServing(r) || r.displaced);
  const serving = ordered.filter((r) => isServing(r) && !r.displaced);
  const removable = Math.max(0, availableNew + servingOld - (desired - maxUnavailable));
  return {
    create: grow(version, toCreate),
    remove: [...notServing, ...serving.slice(0, removable)].map((r) => r.id),
  };
}

function grow(version: number, count: number): ReplicaActions['create'] {
  return count > 0 ? [{ version, count }] : [];
}

function removeBroken(replicas: readonly Replica[]): string[] {
  return replicas.filter(isBroken).map((r) => r.id);
}

function fail(rollout: RolloutPlan['rollout'], reason: string, now: Date): RolloutPlan {
  const steps = rollout.steps.map((step) =>
    step.state === 'running' ? { ...step, state: 'failed' as const, finishedAt: now.toISOString() } : step,
  );
  return { rollout: { ...rollout, steps, state: 'failed', reason }, outcome: 'failed', create: [], remove: [] };
}

/** Marks steps running and done, by name or (rolling) by how many replicas are available. */
class StepTracker {
  private readonly at: string;

  constructor(
    private readonly steps: RolloutStep[],
    now: Date,
  ) {
    this.at = now.toISOString();
  }

  state(name: string): RolloutStep['state'] | undefined {
    return this.steps.find((s) => s.name === name)?.state;
  }

  start(name: string): void {
    const step = this.steps.find((s) => s.name === name);
    if (step && step.state === 'pending') Object.assign(step, { state: 'running', startedAt: this.at });
  }

  finish(name: string): void {
    const step = this.steps.find((s) => s.name === name);
    if (!step || step.state === 'done') return;
    Object.assign(step, { state: 'done', startedAt: step.startedAt ?? this.at, finishedAt: this.at });
  }

  finishAll(): void {
    this.steps.forEach((step) => this.finish(step.name));
  }

  /** Batch i is done once enough replicas of the new version are available for it. */
  batches(available: number, desired: number): void {
    const per = desired / this.steps.length;
    this.steps.forEach((step, i) => {
      if (available >= Math.min(desired, Math.ceil(per * (i + 1)))) this.finish(step.name);
      else if (i === 0 || this.steps[i - 1].state === 'done') this.start(step.name);
    });
  }
}
