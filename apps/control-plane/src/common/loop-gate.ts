import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** How a LoopGate decides. */
export interface LoopGateOptions {
  /** Above this share of a tick spent busy, the event loop counts as busy. */
  maxUtilization?: number;
  /** How often a gate in use looks at the event loop. */
  tickMs?: number;
}

/** How many waiters the first tick lets through, and how many more each tick with room adds. */
const FIRST_ALLOWANCE = 8;
const ALLOWANCE_STEP = 4;

/**
 * Lets deferrable work (a fleet's agents joining) wait while the event loop is busy, so that
 * what cannot wait — the API — is answered promptly. A caller finding the gate unused goes
 * through at once; while callers keep coming, the gate looks every tick at how busy the loop
 * was since the last one and lets through a number of waiters that grows while the loop has
 * room and halves while it has not (additive increase, multiplicative decrease). It spaces out
 * how much work starts; what passed is not cut short.
 */
export class LoopGate {
  private readonly waiting: (() => void)[] = [];
  private readonly maxUtilization: number;
  private readonly tickMs: number;
  private timer?: NodeJS.Timeout;
  private last: EventLoopUtilization = performance.eventLoopUtilization();
  private allowance = FIRST_ALLOWANCE;

  constructor({ maxUtilization = 0.75, tickMs = 20 }: LoopGateOptions = {}) {
    this.maxUtilization = maxUtilization;
    this.tickMs = tickMs;
  }

  /** Resolves once the caller may start its work. */
  pass(): Promise<void> {
    if (this.timer === undefined) {
      this.last = performance.eventLoopUtilization();
      this.timer = setInterval(() => this.tick(), this.tickMs).unref();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private tick(): void {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, this.last).utilization > this.maxUtilization;
    this.last = now;
    this.allowance = busy ? Math.max(1, Math.floor(this.allowance / 2)) : this.allowance + ALLOWANCE_STEP;
    if (this.waiting.length === 0) {
      // Nobody came for a whole tick: the next caller finds the gate unused.
      clearInterval(this.timer);
      this.timer = undefined;
      this.allowance = FIRST_ALLOWANCE;
      return;
    }
    for (const resolve of this.waiting.splice(0, this.allowance)) resolve();
  }
}
