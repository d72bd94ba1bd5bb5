import { describe, expect, it } from '@jest/globals';
import { TimeSlice } from './time-slice';

/** Whether an immediate queued now ran before `work` settled: `work` let the event loop in. */
async function letEventLoopIn(work: () => Promise<void>): Promise<boolean> {
  let ran = false;
  setImmediate(() => (ran = true));
  await work();
  return ran;
}

describe('TimeSlice', () => {
  it('opens a slice at the first checkpoint of a turn, and does not yield within its budget', async () => {
    let now = 100;
    const slice = new TimeSlice(10, () => now);
    expect(await letEventLoopIn(() => slice.checkpoint())).toBe(false);
    now = 109;
    expect(await letEventLoopIn(() => slice.checkpoint())).toBe(false);
  });

  it('yields once the budget is spent, and starts a new slice', async () => {
    let now = 0;
    const slice = new TimeSlice(10, () => now);
    await slice.checkpoint();
    now = 10;
    expect(await letEventLoopIn(() => slice.checkpoint())).toBe(true);
    now = 15;
    expect(await letEventLoopIn(() => slice.checkpoint())).toBe(false);
    now = 20;
    expect(await letEventLoopIn(() => slice.checkpoint())).toBe(true);
  });

  it('counts only work since the slice opened: once the loop turned, a checkpoint opens a new one', async () => {
    let now = 0;
    const slice = new TimeSlice(10, () => now);
    await slice.checkpoint();
    // The loop turns (other callbacks run for a long time); then queued work goes on.
    await new Promise((resolve) => setImmediate(resolve));
    now = 500;
    expect(await letEventLoopIn(() => slice.checkpoint())).toBe(false);
  });

  it('runs forEach on every item in order, letting the event loop in between slices', async () => {
    let now = 0;
    const slice = new TimeSlice(10, () => now);
    const interleaved: string[] = [];
    await slice.forEach([1, 2, 3, 4], (item) => {
      interleaved.push(`item ${item}`);
      now += 5;
      if (item === 3) setImmediate(() => interleaved.push('event loop'));
    });
    // The slice opened after item 1 (at 5 ms) and was spent after item 3 (15 ms): the immediate
    // queued then ran before item 4.
    expect(interleaved).toEqual(['item 1', 'item 2', 'item 3', 'event loop', 'item 4']);
  });
});
