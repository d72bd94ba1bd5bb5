import { yieldToEventLoop } from './yield';

/** How long the queue runs tasks before it lets the event loop serve others. */
const SLICE_MS = 5;
/** How many finished tasks the queue keeps before it drops them from its array. */
const COMPACT_AFTER = 1024;

/** A queued task and what to call once it ran. */
interface Entry {
  run: () => void;
  done: () => void;
}

/**
 * Runs small synchronous tasks in the order they were queued, a few milliseconds at a time,
 * letting the event loop serve sockets and timers in between: a fan-out to thousands of
 * sockets would otherwise hold the loop, and the API, for hundreds of milliseconds.
 */
export class PacedQueue {
  private entries: Entry[] = [];
  private head = 0;
  private running = false;

  constructor(private readonly onError: (err: unknown) => void) {}

  /**
   * Queues a task; tasks start after the current turn of the event loop. Resolves once it ran
   * (a task that threw was reported to `onError`).
   */
  push(run: () => void): Promise<void> {
    return new Promise((done) => {
      this.entries.push({ run, done });
      if (!this.running) {
        this.running = true;
        void this.drain();
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.head < this.entries.length) {
      await yieldToEventLoop();
      const sliceEnd = performance.now() + SLICE_MS;
      while (this.head < this.entries.length && performance.now() < sliceEnd) {
        const { run, done } = this.entries[this.head++];
        try {
          run();
        } catch (err) {
          this.onError(err);
        } finally {
          done();
        }
      }
      // A queue that never runs dry still lets go of what it ran.
      if (this.head >= COMPACT_AFTER) {
        this.entries = this.entries.slice(this.head);
        this.head = 0;
      }
    }
    this.entries = [];
    this.head = 0;
    this.running = false;
  }
}
