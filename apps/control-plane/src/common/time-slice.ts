import { yieldToEventLoop } from './yield';

/**
 * How long a run of work may hold the event loop in one turn before it lets sockets and timers
 * in. A fleet's batches (a thousand hellos acknowledged, desired sets sent, transactions queued
 * behind each other) otherwise run in one go, and `GET /healthz` waits for all of it.
 */
export const EVENT_LOOP_SLICE_MS = 5;

/**
 * Cuts long runs of work on the event loop into slices. A slice opens at the first
 * `checkpoint()` of a turn of the event loop; later checkpoints return at once while it is
 * within its budget, and yield to the event loop (one `setImmediate`) once it is spent. Only
 * work since the slice opened counts, not what other callbacks did earlier in the turn: a
 * busy loop still gives queued work a whole slice per turn instead of one unit. The work and
 * its order stay the same; other events get their turn in between.
 */
export class TimeSlice {
  /** When the open slice started; undefined once the loop has turned since. */
  private openedAt?: number;
  private slices = 0;

  constructor(
    private readonly budgetMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  async checkpoint(): Promise<void> {
    if (this.openedAt === undefined) {
      this.open();
      return;
    }
    if (this.now() - this.openedAt < this.budgetMs) return;
    await yieldToEventLoop();
    this.open();
  }

  /** Runs `each` on every item in order, with a checkpoint after each. */
  async forEach<T>(items: Iterable<T>, each: (item: T) => void): Promise<void> {
    for (const item of items) {
      each(item);
      await this.checkpoint();
    }
  }

  private open(): void {
    this.openedAt = this.now();
    const slice = ++this.slices;
    // The next turn of the loop closes it, unless a newer slice has opened since.
    setImmediate(() => {
      if (this.slices === slice) this.openedAt = undefined;
    });
  }
}

/** The process's one event loop, shared by every long run of work on it. */
export const eventLoopSlice = new TimeSlice(EVENT_LOOP_SLICE_MS);
