import { describe, expect, it } from '@jest/globals';
import { budgets, resolveCount } from './strategy';

describe('rollout budgets', () => {
  it('resolves percentages like Kubernetes: surge up, unavailable down', () => {
    expect(resolveCount('10%', 15, 'up')).toBe(2);
    expect(resolveCount('10%', 15, 'down')).toBe(1);
    expect(resolveCount(3, 15, 'down')).toBe(3);
    expect(budgets({ type: 'rolling', maxUnavailable: '10%', maxSurge: '25%' }, 10000)).toEqual({ maxSurge: 2500, maxUnavailable: 1000 });
  });

  it('never leaves a rollout with no room to move', () => {
    expect(budgets({ type: 'rolling', maxUnavailable: '10%', maxSurge: 0 }, 5)).toEqual({ maxSurge: 0, maxUnavailable: 1 });
  });
});
