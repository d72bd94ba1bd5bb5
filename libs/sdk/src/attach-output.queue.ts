import type { OutputStream } from '@moat/proto/attach';

/** A chunk of a session's output. */
export interface AttachOutput {
  /** `stdout`, or `stderr` without a TTY (a TTY merges both into stdout). */
  stream: OutputStream;
  data: Uint8Array;
}

interface Arrived {
  output: AttachOutput;
  acknowledge: () => void;
}

/**
 * A session's output as an async iterable for one consumer. A chunk is acknowledged only when
 * the consumer asks for the next one (or stops), and the control plane sends the next chunk only
 * after that: a slow consumer slows the process, and at most one chunk waits here.
 */
export class AttachOutputQueue implements AsyncIterableIterator<AttachOutput> {
  private readonly arrived: Arrived[] = [];
  private reader?: (result: IteratorResult<AttachOutput, undefined>) => void;
  /** The acknowledgement of the chunk the consumer holds. */
  private held?: () => void;
  private ended = false;
  private stopped = false;

  /** A chunk came; `acknowledge` lets the next one come. */
  push(output: AttachOutput, acknowledge: () => void): void {
    if (this.stopped) return acknowledge();
    if (this.reader) return this.hand({ output, acknowledge });
    this.arrived.push({ output, acknowledge });
  }

  /** The session ended: the consumer gets what arrived, then the end. */
  end(): void {
    this.ended = true;
    if (this.reader && this.arrived.length === 0) this.finish();
  }

  next(): Promise<IteratorResult<AttachOutput, undefined>> {
    this.release();
    const first = this.arrived.shift();
    if (first) return Promise.resolve(this.take(first));
    if (this.ended || this.stopped) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => (this.reader = resolve));
  }

  /** The consumer stopped reading: what comes later is acknowledged unread, so the process goes on. */
  return(): Promise<IteratorResult<AttachOutput, undefined>> {
    this.stopped = true;
    this.release();
    for (const { acknowledge } of this.arrived.splice(0)) acknowledge();
    if (this.reader) this.finish();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private hand(arrived: Arrived): void {
    const reader = this.reader;
    this.reader = undefined;
    reader?.(this.take(arrived));
  }

  private take({ output, acknowledge }: Arrived): IteratorResult<AttachOutput, undefined> {
    this.held = acknowledge;
    return { done: false, value: output };
  }

  private release(): void {
    const held = this.held;
    this.held = undefined;
    held?.();
  }

  private finish(): void {
    const reader = this.reader;
    this.reader = undefined;
    reader?.({ done: true, value: undefined });
  }
}
