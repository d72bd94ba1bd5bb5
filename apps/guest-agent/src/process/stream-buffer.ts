import type { Readable } from 'node:stream';
import { AgentError, AgentErrorCode } from '../errors/agent.error';

export function notYet(): AgentError {
  return new AgentError(AgentErrorCode.NOT_YET, 'nothing yet; ask again');
}

/**
 * Holds what a child wrote to one of its pipes until the host reads it (Kata's ReadStdout and
 * ReadStderr). Bounded: once `limitBytes` are buffered the pipe is paused, so the child
 * blocks on write instead of the agent growing without limit.
 */
export class StreamBuffer {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private sourceEnded = false;
  private paused = false;
  private eofReported = false;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly source: Readable,
    private readonly limitBytes: number,
  ) {
    source.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered >= this.limitBytes && !this.paused) {
        this.paused = true;
        source.pause();
      }
      this.wake();
    });
    const end = (): void => {
      this.sourceEnded = true;
      this.wake();
    };
    source.once('end', end);
    source.once('close', end);
    // A pipe error (the child vanished mid-write) ends the stream like EOF; there is nobody to tell.
    source.once('error', end);
  }

  /** Bytes waiting to be read. */
  get size(): number {
    return this.buffered;
  }

  /** True once the child closed the stream (what it wrote may still be buffered). */
  get ended(): boolean {
    return this.sourceEnded;
  }

  /** Resolves at the next chunk or at the end, whichever comes first. */
  changed(): Promise<void> {
    if (this.sourceEnded) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** True once a read has returned the end of the stream to the host. */
  get eofDelivered(): boolean {
    return this.eofReported;
  }

  /**
   * Up to `maxBytes`, waiting until some are available; an empty buffer means end of stream.
   * When `signal` aborts first, rejects with NOT_YET and takes nothing.
   */
  async read(maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    while (this.buffered === 0 && !this.sourceEnded) {
      if (signal?.aborted) throw notYet();
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    if (this.buffered === 0) {
      this.eofReported = true;
      return Buffer.alloc(0);
    }
    const taken = this.take(maxBytes);
    if (this.paused && this.buffered < this.limitBytes) {
      this.paused = false;
      this.source.resume();
    }
    return taken;
  }

  private take(maxBytes: number): Buffer {
    const parts: Buffer[] = [];
    let remaining = maxBytes;
    while (remaining > 0 && this.chunks.length > 0) {
      const head = this.chunks[0];
      if (head.length <= remaining) {
        parts.push(head);
        this.chunks.shift();
        remaining -= head.length;
      } else {
        parts.push(head.subarray(0, remaining));
        this.chunks[0] = head.subarray(remaining);
        remaining = 0;
      }
    }
    const taken = Buffer.concat(parts);
    this.buffered -= taken.length;
    return taken;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
