import { describe, expect, it } from '@jest/globals';
import type { Replica } from './replica';
import type { RolloutStrategy } from './strategy';
import { initialSteps, planRollout, type RolloutView } from './rollout.planner';
import { NOW, replica } from './testing/replicas';

const view = (strategy: RolloutStrategy, desired: number, overrides: Partial<RolloutView> = {}): RolloutView => ({
  strategy,
  toVersion: 2,
  state: 'progressing',
  promoted: false,
  steps: initialSteps(strategy, desired),
  progress: { old: desired, new: 0, healthy: 0, unavailable: 0, desired },
  lastProgressAt: NOW,
  ...overrides,
});
const olds = (n: number): Replica[] => Array.from({ length: n }, () => replica(1));

describe('planRollout', () => {
  it('rolling: stops maxUnavailable old replicas first when there is no surge', () => {
    const plan = planRollout(view({ type: 'rolling', maxUnavailable: '10%', maxSurge: 0 }, 20), olds(20), 20, NOW);
    expect(plan.create).toEqual([]);
    expect(plan.remove).toHaveLength(2);
  });

  it('rolling: starts replacements within the surge and waits for them before stopping more', () => {
    const fresh = [replica(2, { state: 'creating', health: 'unknown', healthySince: null })];
    const plan = planRollout(view({ type: 'rolling', maxUnavailable: 0, maxSurge: 1 }, 4), [...olds(4), ...fresh], 4, NOW);
    expect(plan.create).toEqual([]);
    expect(plan.remove).toEqual([]);
    const ready = [replica(2)];
    const next = planRollout(view({ type: 'rolling', maxUnavailable: 0, maxSurge: 1 }, 4), [...olds(4), ...ready], 4, NOW);
    expect(next.remove).toHaveLength(1);
  });

  it('counts new replicas only after minHealthySeconds', () => {
    const recent = replica(2, { healthySince: new Date(NOW.getTime() - 5_000) });
    const strategy: RolloutStrategy = { type: 'rolling', maxUnavailable: 0, maxSurge: 1, minHealthySeconds: 30 };
    const plan = planRollout(view(strategy, 2), [...olds(2), recent], 2, NOW);
    expect(plan.rollout.progress.healthy).toBe(0);
    expect(plan.remove).toEqual([]);
  });

  it('completes when every replica runs the new version and is available', () => {
    const plan = planRollout(view({ type: 'rolling' }, 2), [replica(2), replica(2)], 2, NOW);
    expect(plan.outcome).toBe('completed');
    expect(plan.rollout.steps.every((s) => s.state === 'done')).toBe(true);
  });

  it('fails on a new replica that failed its health check, naming it', () => {
    const bad = replica(2, { health: 'unhealthy' });
    const plan = planRollout(view({ type: 'immediate' }, 2), [bad, replica(2)], 2, NOW);
    expect(plan.outcome).toBe('failed');
    expect(plan.rollout.reason).toContain(`replica ${bad.id} of version 2 failed its health check`);
  });

  it('replaces a new replica that failed to start instead of failing the rollout', () => {
    const crashed = replica(2, { state: 'failed', health: 'unknown', healthySince: null });
    const plan = planRollout(view({ type: 'immediate' }, 2), [crashed, replica(2)], 2, NOW);
    expect(plan.outcome).toBeUndefined();
    expect(plan.remove).toEqual([crashed.id]);
    expect(plan.create).toEqual([{ version: 2, count: 1 }]);
  });

  it('fails after progressDeadlineSeconds without progress', () => {
    const stalled = view({ type: 'rolling', progressDeadlineSeconds: 60 }, 2, {
      lastProgressAt: new Date(NOW.getTime() - 61_000),
      progress: { old: 2, new: 1, healthy: 0, unavailable: 0, desired: 2 },
    });
    const plan = planRollout(stalled, [...olds(2), replica(2, { state: 'creating', health: 'unknown' })], 2, NOW);
    expect(plan.outcome).toBe('failed');
    expect(plan.rollout.reason).toMatch(/no progress for 60 s/);
  });

  it('canary: starts the canaries beside all old replicas, then waits for promote', () => {
    const strategy: RolloutStrategy = { type: 'canary', canaryReplicas: 2 };
    expect(planRollout(view(strategy, 5), olds(5), 5, NOW).create).toEqual([{ version: 2, count: 2 }]);
    const held = planRollout(view(strategy, 5), [...olds(5), replica(2), replica(2)], 5, NOW);
    expect(held.create).toEqual([]);
    expect(held.remove).toEqual([]);
    expect(held.rollout.steps.map((s) => s.state)).toEqual(['done', 'running', 'pending']);
    const promoted = planRollout(view(strategy, 5, { promoted: true }), [...olds(5), replica(2), replica(2)], 5, NOW);
    expect(promoted.remove.length).toBeGreaterThan(0);
  });

  it('blue-green: starts a full new set, then stops every old replica at once', () => {
    const strategy: RolloutStrategy = { type: 'blue-green' };
    expect(planRollout(view(strategy, 3), olds(3), 3, NOW)).toMatchObject({ create: [{ version: 2, count: 3 }], remove: [] });
    const green = [replica(2), replica(2), replica(2)];
    expect(planRollout(view(strategy, 3), [...olds(3), ...green], 3, NOW).remove).toHaveLength(3);
  });

  it('does nothing while paused but still reports progress', () => {
    const plan = planRollout(view({ type: 'immediate' }, 3, { state: 'paused' }), [...olds(2), replica(2)], 3, NOW);
    expect(plan).toMatchObject({ create: [], remove: [], rollout: { progress: { old: 2, new: 1, healthy: 1 } } });
  });
});
