import { yieldToEventLoop } from './yield';

interface Entry<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** How a Batcher gathers items. */
export interface BatcherOptions {
  /** At most this many items per batch. */
  maxBatch?: number;
  /**
   * How long a batch waits for company after its first item arrived; 0 (the default) takes
   * what arrived in the same turn of the event loop.
   */
  windowMs?: number;
}

/**
 * Hands items to `work` in batches: those added within `windowMs` of the first, or while the
 * previous batch ran, go together (at most `maxBatch`), so a stream of thousands of small
 * events costs a few transactions instead of one each. `add` resolves once the batch holding
 * the item is done, and rejects with the batch's error; batches run one at a time, in
 * arrival order.
 */
export class Batcher<T> {
  private queue: Entry<T>[] = [];
  private running = false;

  private readonly maxBatch: number;
  private readonly windowMs: number;

  constructor(
    private readonly work: (items: T[]) => Promise<void>,
    { maxBatch = 1000, windowMs = 0 }: BatcherOptions = {},
  ) {
    this.maxBatch = maxBatch;
    this.windowMs = windowMs;
  }

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) {
        this.running = true;
        void this.drain();
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      await (this.windowMs > 0 ? new Promise((resolve) => setTimeout(resolve, this.windowMs)) : yieldToEventLoop());
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        await this.work(batch.map((entry) => entry.item));
        batch.forEach((entry) => entry.resolve());
      } catch (err) {
        batch.forEach((entry) => entry.reject(err));
      }
    }
    this.running = false;
  }
}
