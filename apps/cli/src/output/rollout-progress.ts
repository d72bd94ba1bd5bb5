import type { Rollout } from '@moat/sdk';

const BAR_WIDTH = 20;

/** Whether a rollout has ended: only `progressing` and `paused` go on. */
export function rolloutEnded(rollout: Rollout): boolean {
  return rollout.state !== 'progressing' && rollout.state !== 'paused';
}

/**
 * One line of a rollout's progress: a bar of the new version's healthy replicas, the counts,
 * the current step and the state, e.g.
 * `v1→v2 [##########----------] 2/4 healthy · new 3, old 2, unavailable 1 · step 2/3 canary · progressing`.
 */
export function progressLine(rollout: Rollout): string {
  const { healthy, desired, old, unavailable } = rollout.progress;
  const filled = desired === 0 ? BAR_WIDTH : Math.min(BAR_WIDTH, Math.round((healthy / desired) * BAR_WIDTH));
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const step = rollout.steps.find((s) => s.state === 'running' || s.state === 'failed') ?? rollout.steps.findLast((s) => s.state === 'done');
  const stepText = step ? ` · step ${step.index + 1}/${rollout.steps.length} ${step.name}` : '';
  const reason = rollout.reason ? ` (${rollout.reason})` : '';
  return `v${rollout.fromVersion}→v${rollout.toVersion} ${bar} ${healthy}/${desired} healthy · new ${rollout.progress.new}, old ${old}, unavailable ${unavailable}${stepText} · ${rollout.state}${reason}`;
}
