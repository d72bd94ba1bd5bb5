import { describe, expect, it } from '@jest/globals';
import { isServing, planSteadyState } from './replica';
import { NOW, replica } from './testing/replicas';


describe('planSteadyState', () => {
  it('starts what is missing and replaces failed or unhealthy replicas', () => {
    const failed = replica(1, { state: 'failed' });
    const sick = replica(1, { health: 'unhealthy' });
    const plan = planSteadyState([replica(1), failed, sick], 1, 4, NOW);
    expect(plan.remove.sort()).toEqual([failed.id, sick.id].sort());
    expect(plan.create).toEqual([{ version: 1, count: 3 }]);
  });

  it('leaves a failed replica its restart policy starts again to the restart, and replaces it once failed for good', () => {
    const restarting = replica(1, { state: 'failed', health: 'unknown', healthySince: null, restarting: true });
    const waiting = planSteadyState([replica(1), restarting], 1, 2, NOW);
    expect(waiting).toEqual({ create: [], remove: [] });
    const exhausted = { ...restarting, restarting: false };
    expect(planSteadyState([replica(1), exhausted], 1, 2, NOW)).toEqual({ create: [{ version: 1, count: 1 }], remove: [exhausted.id] });
  });

  it('keeps a hibernated replica: not serving, yet neither broken nor replaced; the first to go when scaling down', () => {
    for (const state of ['hibernating', 'hibernated', 'waking'] as const) {
      const asleep = replica(1, { state, health: 'unknown', healthySince: null });
      expect(isServing(asleep)).toBe(false);
      expect(planSteadyState([replica(1), asleep], 1, 2, NOW)).toEqual({ create: [], remove: [] });
      expect(planSteadyState([asleep, replica(1)], 1, 1, NOW)).toEqual({ create: [], remove: [asleep.id] });
    }
  });

  it('scales down, newest first', () => {
    const old = replica(1, { createdAt: new Date('2026-01-01T00:00:00Z') });
    const young = replica(1, { createdAt: new Date('2026-01-01T00:05:00Z') });
    expect(planSteadyState([old, young], 1, 1, NOW).remove).toEqual([young.id]);
  });

  it('keeps other versions serving until enough of the wanted one are available (rollback)', () => {
    const others = [replica(3), replica(3)];
    const starting = [replica(2, { state: 'creating', health: 'unknown', healthySince: null })];
    const plan = planSteadyState([...others, ...starting], 2, 2, NOW);
    expect(plan.remove).toEqual([]);
    expect(plan.create).toEqual([{ version: 2, count: 1 }]);
    expect(planSteadyState([...others, replica(2), replica(2)], 2, 2, NOW).remove.sort()).toEqual(others.map((r) => r.id).sort());
  });

  it('moves displaced replicas (drained or lost node): replacement first, then the old one goes', () => {
    const displaced = replica(1, { displaced: true });
    const first = planSteadyState([replica(1), displaced], 1, 2, NOW);
    expect(first).toEqual({ create: [{ version: 1, count: 1 }], remove: [] });
    const after = planSteadyState([replica(1), displaced, replica(1)], 1, 2, NOW);
    expect(after).toEqual({ create: [], remove: [displaced.id] });
  });
});
