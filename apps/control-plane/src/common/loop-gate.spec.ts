import { describe, expect, it } from '@jest/globals';
import { LoopGate } from './loop-gate';

/** Keeps the event loop busy for `ms`, as a burst of synchronous work would. */
function hold(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

describe('LoopGate', () => {
  it('lets a caller through at once when the gate is unused', async () => {
    const gate = new LoopGate();
    let passed = false;
    void gate.pass().then(() => (passed = true));
    await Promise.resolve();
    expect(passed).toBe(true);
  });

  it('holds callers while the loop is busy and lets all of them through once it has room', async () => {
    const gate = new LoopGate();
    await gate.pass();
    let passed = 0;
    const all = Array.from({ length: 40 }, () => gate.pass().then(() => passed++));
    // The first tick, due during the hold, sees a loop busy for all of it: it lets through half
    // of what it would with room (8).
    hold(60);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(passed).toBe(4);
    await Promise.all(all);
    expect(passed).toBe(40);
  });
});
