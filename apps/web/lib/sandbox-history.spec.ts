import { describe, expect, it } from '@jest/globals';
import { restartSummary, stateHistory } from './sandbox-history';

describe('stateHistory', () => {
  it("lists the server's events in order, with their reasons", () => {
    const history = stateHistory({
      events: [
        { at: '2026-01-01T00:00:00.000Z', state: 'pending' },
        { at: '2026-01-01T00:00:03.000Z', state: 'running' },
        {
          at: '2026-01-01T00:01:00.000Z',
          state: 'failed',
          reason: { code: 'VMM_EXITED', message: 'the VMM was killed by signal 9 (SIGKILL)\n--- console ---\npanic' },
        },
        { at: '2026-01-01T00:01:01.000Z', state: 'creating', reason: { code: 'RESTARTED', message: 'restart 1 of 3 after VMM_EXITED' } },
      ],
    });
    expect(history).toEqual([
      { at: '2026-01-01T00:00:00.000Z', state: 'pending', reason: null, detail: null },
      { at: '2026-01-01T00:00:03.000Z', state: 'running', reason: null, detail: null },
      {
        at: '2026-01-01T00:01:00.000Z',
        state: 'failed',
        reason: 'VMM_EXITED: the VMM was killed by signal 9 (SIGKILL)',
        detail: 'the VMM was killed by signal 9 (SIGKILL)\n--- console ---\npanic',
      },
      { at: '2026-01-01T00:01:01.000Z', state: 'creating', reason: 'RESTARTED: restart 1 of 3 after VMM_EXITED', detail: null },
    ]);
  });

  it('is empty for a sandbox with no recorded events', () => {
    expect(stateHistory({ events: [] })).toEqual([]);
  });
});

describe('restartSummary', () => {
  it('says never, or how many restarts are used', () => {
    expect(restartSummary({ restartPolicy: { type: 'never' }, restartCount: 0 })).toBe('never');
    expect(restartSummary({ restartPolicy: { type: 'on-failure', maxRestarts: 3, backoffSeconds: 2 }, restartCount: 1 })).toBe(
      'on failure, 1 of 3 restarts used (backoff 2 s, doubling)',
    );
    expect(restartSummary({ restartPolicy: { type: 'on-failure', maxRestarts: 1, backoffSeconds: 1 }, restartCount: 1 })).toBe(
      'on failure, 1 of 1 restart used (backoff 1 s, doubling)',
    );
  });
});
