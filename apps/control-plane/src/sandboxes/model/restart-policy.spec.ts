import { describe, expect, it } from '@jest/globals';
import { resolveRestartPolicy, restartDelaySeconds, restartDueAt } from './restart-policy';

const FAILED_AT = new Date('2026-01-01T00:00:00Z');
const seconds = (due: Date | null): number | null => (due ? (due.getTime() - FAILED_AT.getTime()) / 1000 : null);

describe('restart policies', () => {
  it('fills in defaults: never, or on-failure with 3 restarts and a 1 s backoff', () => {
    expect(resolveRestartPolicy(undefined)).toEqual({ type: 'never' });
    expect(resolveRestartPolicy({ type: 'never' })).toEqual({ type: 'never' });
    expect(resolveRestartPolicy({ type: 'on-failure' })).toEqual({ type: 'on-failure', maxRestarts: 3, backoffSeconds: 1 });
    expect(resolveRestartPolicy({ type: 'on-failure', maxRestarts: 0, backoffSeconds: 30 })).toEqual({ type: 'on-failure', maxRestarts: 0, backoffSeconds: 30 });
  });

  it('doubles the backoff after each restart, up to 300 s', () => {
    expect([0, 1, 2, 3].map((count) => restartDelaySeconds(1, count))).toEqual([1, 2, 4, 8]);
    expect(restartDelaySeconds(5, 5)).toBe(160);
    expect(restartDelaySeconds(5, 6)).toBe(300);
    expect(restartDelaySeconds(300, 0)).toBe(300);
    expect(restartDelaySeconds(1, 99)).toBe(300);
  });

  it('is due after the backoff while restarts are left, never otherwise', () => {
    const policy = resolveRestartPolicy({ type: 'on-failure', maxRestarts: 2, backoffSeconds: 3 });
    expect(seconds(restartDueAt(policy, 0, FAILED_AT))).toBe(3);
    expect(seconds(restartDueAt(policy, 1, FAILED_AT))).toBe(6);
    expect(restartDueAt(policy, 2, FAILED_AT)).toBeNull();
    expect(restartDueAt(resolveRestartPolicy({ type: 'on-failure', maxRestarts: 0 }), 0, FAILED_AT)).toBeNull();
    expect(restartDueAt({ type: 'never' }, 0, FAILED_AT)).toBeNull();
  });
});
