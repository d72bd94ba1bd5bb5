import { describe, expect, it } from '@jest/globals';
import { MAX_SANDBOX_EVENTS, withEvent } from './sandbox-events';

const at = (second: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, second));

describe('sandbox events', () => {
  it('appends state changes, newest last, with a reason when given', () => {
    const failure = { code: 'VMM_EXITED', message: 'the VMM was killed by signal 9 (SIGKILL)' };
    let events = withEvent([], 'pending', at(0));
    events = withEvent(events, 'running', at(1));
    events = withEvent(events, 'failed', at(2), failure);
    expect(events).toEqual([
      { at: '2026-01-01T00:00:00.000Z', state: 'pending' },
      { at: '2026-01-01T00:00:01.000Z', state: 'running' },
      { at: '2026-01-01T00:00:02.000Z', state: 'failed', reason: failure },
    ]);
  });

  it('records no change into the state it is already in', () => {
    const events = withEvent([{ at: at(0).toISOString(), state: 'running' }], 'running', at(1));
    expect(events).toEqual([{ at: at(0).toISOString(), state: 'running' }]);
  });

  it(`keeps the latest ${MAX_SANDBOX_EVENTS} only`, () => {
    let events = withEvent([], 'pending', at(0));
    for (let i = 1; i <= 60; i += 1) events = withEvent(events, i % 2 ? 'running' : 'failed', at(i));
    expect(events).toHaveLength(MAX_SANDBOX_EVENTS);
    expect(events.at(-1)).toMatchObject({ state: 'failed', at: at(60).toISOString() });
    expect(events[0]).toMatchObject({ at: at(11).toISOString() });
  });
});
