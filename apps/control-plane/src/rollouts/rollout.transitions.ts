import { isActive, type RolloutEntity } from './rollout.entity';

/** What an operator may do to a rollout through the API. */
export type RolloutAction = 'pause' | 'resume' | 'abort' | 'promote';

/** Marks a rollout as rolled back (automatically or by `abort`), with a finished rollback step. */
export function rollBack(rollout: RolloutEntity, reason: string, now: Date): void {
  const at = now.toISOString();
  rollout.steps = [
    ...rollout.steps.map((step) => (step.state === 'running' ? { ...step, state: 'failed' as const, finishedAt: at } : step)),
    { index: rollout.steps.length, name: `roll back to version ${rollout.fromVersion}`, state: 'done', startedAt: at, finishedAt: at },
  ];
  Object.assign(rollout, { state: 'rolled-back', reason, finishedAt: now });
}

/** Applies an action to a rollout, or says why it is not possible in its state. */
export function applyAction(rollout: RolloutEntity, action: RolloutAction, now: Date): string | undefined {
  const refuse = `cannot ${action} a rollout that is ${rollout.state}`;
  switch (action) {
    case 'pause':
      if (rollout.state !== 'progressing') return refuse;
      rollout.state = 'paused';
      return undefined;
    case 'resume':
      if (rollout.state !== 'paused') return refuse;
      // Time spent paused does not count against the progress deadline.
      Object.assign(rollout, { state: 'progressing', lastProgressAt: now });
      return undefined;
    case 'abort':
      if (!isActive(rollout.state)) return refuse;
      rollBack(rollout, 'aborted', now);
      return undefined;
    case 'promote':
      if (!isActive(rollout.state)) return refuse;
      if (rollout.strategy.type !== 'canary' && rollout.strategy.type !== 'blue-green') {
        return `a ${rollout.strategy.type} rollout has nothing to promote`;
      }
      if (rollout.promoted) return 'the rollout is already promoted';
      rollout.promoted = true;
      return undefined;
  }
}
