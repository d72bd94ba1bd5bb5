export interface EventuallyOptions {
  /** How long to keep retrying, in ms (default 10 s). */
  timeout?: number;
  /** The pause between attempts, in ms (default 50). */
  interval?: number;
}

/**
 * Retries `check` (usually an assertion) until it stops throwing, and returns what it returned;
 * after `timeout` the last error is thrown. For state that settles asynchronously, e.g.
 * `await eventually(() => expect(runtime.get(id)?.state).toBe('failed'))`.
 */
export async function eventually<T>(check: () => T | Promise<T>, { timeout = 10_000, interval = 50 }: EventuallyOptions = {}): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
  }
}
