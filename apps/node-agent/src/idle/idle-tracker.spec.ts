import type { SandboxStatus } from '@moat/proto';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { IdleTracker } from './idle-tracker';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

describe('IdleTracker', () => {
  let now: number;
  /** Each sandbox's NIC byte count, as its counters would read; an Error: unreadable. */
  let traffic: Map<string, number | Error>;
  let tracker: IdleTracker;

  beforeEach(() => {
    now = 1_000_000;
    traffic = new Map();
    tracker = new IdleTracker((id) => {
      const bytes = traffic.get(id);
      return bytes instanceof Error ? Promise.reject(bytes) : Promise.resolve(bytes);
    }, () => now);
  });

  /** Moves the clock on by `seconds` and checks `timeouts`. */
  async function after(seconds: number, timeouts: Record<string, number>): Promise<string[]> {
    now += seconds * 1000;
    return tracker.check(new Map(Object.entries(timeouts)));
  }

  const running = (id: string): SandboxStatus => ({ id, state: 'running', timings: [] });

  it('tells once when a sandbox has had no traffic and no use for its timeout, and says since when in its reports', async () => {
    traffic.set(A, 500);
    expect(await after(0, { [A]: 10 })).toEqual([]);
    expect(await after(9, { [A]: 10 })).toEqual([]);
    expect(tracker.observe(running(A))).toEqual(running(A));
    expect(await after(1, { [A]: 10 })).toEqual([A]);
    // Once: later checks do not tell again, but every report says so.
    expect(await after(3, { [A]: 10 })).toEqual([]);
    expect(tracker.observe(running(A))).toEqual({ ...running(A), idleSeconds: 13 });
  });

  it('counts NIC traffic, execs, sessions and transfers as use', async () => {
    traffic.set(A, 500);
    await after(0, { [A]: 10 });
    traffic.set(A, 800);
    expect(await after(8, { [A]: 10 })).toEqual([]);
    // The traffic was seen at the 8 s check: 10 s from then.
    expect(await after(8, { [A]: 10 })).toEqual([]);
    tracker.touch(A);
    expect(await after(8, { [A]: 10 })).toEqual([]);
    const release = tracker.hold(A);
    expect(await after(30, { [A]: 10 })).toEqual([]);
    expect(await after(30, { [A]: 10 })).toEqual([]);
    release();
    release();
    expect(await after(9, { [A]: 10 })).toEqual([]);
    expect(await after(1, { [A]: 10 })).toEqual([A]);
  });

  it('is in use again after telling it idle: its reports stop saying so, and it is told again after another timeout', async () => {
    await after(0, { [A]: 10 });
    expect(await after(10, { [A]: 10 })).toEqual([A]);
    tracker.touch(A);
    expect(tracker.observe(running(A))).toEqual(running(A));
    expect(await after(9, { [A]: 10 })).toEqual([]);
    expect(await after(1, { [A]: 10 })).toEqual([A]);
  });

  it('starts afresh once a sandbox was reported in another state (hibernated, restarted) or left the watched set', async () => {
    await after(0, { [A]: 10, [B]: 10 });
    expect((await after(10, { [A]: 10, [B]: 10 })).sort()).toEqual([A, B]);
    const hibernating: SandboxStatus = { id: A, state: 'hibernating', timings: [] };
    expect(tracker.observe(hibernating)).toEqual(hibernating);
    // B is no longer to be watched (asked to hibernate, or gone).
    expect(await after(60, { [A]: 10 })).toEqual([]);
    expect(await after(9, { [A]: 10, [B]: 10 })).toEqual([]);
    expect(tracker.observe(running(A))).toEqual(running(A));
    expect((await after(1, { [A]: 10, [B]: 10 }))).toEqual([A]);
  });

  it('takes an unreadable counter for use, as nobody can tell the sandbox is idle', async () => {
    traffic.set(A, 500);
    await after(0, { [A]: 10 });
    traffic.set(A, new Error('EACCES'));
    expect(await after(10, { [A]: 10 })).toEqual([]);
    traffic.set(A, 500);
    expect(await after(10, { [A]: 10 })).toEqual([]);
    expect(await after(10, { [A]: 10 })).toEqual([A]);
  });

  it('watches a sandbox without a NIC by its use alone', async () => {
    await after(0, { [A]: 10 });
    tracker.touch(A);
    expect(await after(10, { [A]: 10 })).toEqual([A]);
  });
});
