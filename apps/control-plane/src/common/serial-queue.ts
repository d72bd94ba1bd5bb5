/**
 * Runs async tasks one at a time, in arrival order. Quota checks and placement read
 * allocations and then write them; running them serially keeps two requests from
 * booking the same capacity within this process.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    // The next task waits for this one to settle, whether it succeeded or not.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
