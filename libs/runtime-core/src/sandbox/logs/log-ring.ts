import type { OutputStream } from '../../agent/agent.types';

/** One chunk the sandbox's main process wrote, as the ring holds it. */
export interface LogEntry {
  /** Increases by one per chunk; see {@link LogRing} for where it starts. */
  seq: number;
  /** When the node read the chunk (ms since the epoch). */
  timeMs: number;
  stream: OutputStream;
  data: Buffer;
}

export interface LogQuery {
  /** Only entries after this cursor (a `seq`, or a page's `cursor`). */
  after?: number;
  /** Only entries read at or after this time (ms since the epoch). */
  sinceMs?: number;
  /** Only the last this many lines of what the other filters leave. */
  tail?: number;
  /** At most about this many bytes of entries (each costs its data and {@link LOG_ENTRY_OVERHEAD_BYTES}); at least one entry. */
  maxBytes: number;
}

export interface LogPage {
  entries: LogEntry[];
  /** The `after` of the next read: the last entry returned, or the newest the query passed over. */
  cursor: number;
  /** The process's output has ended and every entry up to the end was returned. */
  ended: boolean;
  /** Entries the ring no longer holds between the query's cursor and the first entry returned. */
  dropped?: number;
}

/** What a reader of a sandbox's logs may do: read pages, and wait for more. */
export type LogReader = Pick<LogRing, 'read' | 'waitForMore'>;

/**
 * What an entry costs beyond its data (object, buffer header, array slot): counted against the
 * ring's bound, so many tiny chunks cannot hold much more memory than a few big ones.
 */
export const LOG_ENTRY_OVERHEAD_BYTES = 64;

const NEWLINE = 0x0a;

/**
 * A sandbox's main-process output, bounded by bytes: when a chunk does not fit, the oldest
 * entries are dropped, and a chunk bigger than the whole ring keeps only its end.
 *
 * Sequence numbers start at the ring's creation time in microseconds, so a cursor handed out by
 * an earlier ring of the same sandbox (before the node agent restarted) is older than every
 * entry of this one: resuming with it gives what this ring holds instead of nothing.
 */
export class LogRing {
  private readonly entries: LogEntry[] = [];
  private bytes = 0;
  private readonly firstSeq: number;
  private nextSeq: number;
  private ended = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly capacityBytes: number,
    private readonly now: () => number = Date.now,
  ) {
    if (capacityBytes <= LOG_ENTRY_OVERHEAD_BYTES) throw new RangeError(`a log ring needs more than ${LOG_ENTRY_OVERHEAD_BYTES} bytes`);
    this.firstSeq = this.nextSeq = Math.floor(now()) * 1000;
  }

  /** Bytes held, entry overheads included; never more than the capacity. */
  get size(): number {
    return this.bytes;
  }

  /** Whether the output has ended (see {@link end}). */
  get isEnded(): boolean {
    return this.ended;
  }

  push(stream: OutputStream, chunk: Buffer): void {
    if (chunk.length === 0 || this.ended) return;
    const room = this.capacityBytes - LOG_ENTRY_OVERHEAD_BYTES;
    // A copy of the end, not a view: a view would keep the whole huge chunk in memory.
    const data = chunk.length > room ? Buffer.from(chunk.subarray(chunk.length - room)) : chunk;
    this.entries.push({ seq: this.nextSeq++, timeMs: this.now(), stream, data });
    this.bytes += cost(data);
    while (this.bytes > this.capacityBytes) {
      const oldest = this.entries.shift();
      if (oldest) this.bytes -= cost(oldest.data);
    }
    this.wake();
  }

  /** The output is over (the process closed both streams, or the sandbox stopped): readers are told. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  read({ after, sinceMs, tail, maxBytes }: LogQuery): LogPage {
    const firstAfter = after === undefined ? 0 : this.indexAfter(after);
    const oldestHeld = this.entries[0]?.seq ?? this.nextSeq;
    const lostSince = after === undefined ? undefined : Math.max(after + 1, this.firstSeq);
    const dropped = lostSince === undefined ? 0 : Math.max(0, oldestHeld - lostSince);
    let matching = this.entries.slice(firstAfter);
    if (sinceMs !== undefined) matching = matching.filter((entry) => entry.timeMs >= sinceMs);
    if (tail !== undefined) matching = lastLines(matching, tail);

    const entries: LogEntry[] = [];
    let budget = maxBytes;
    for (const entry of matching) {
      if (entries.length > 0 && cost(entry.data) > budget) break;
      entries.push(entry);
      budget -= cost(entry.data);
    }
    const last = entries.at(-1);
    const complete = entries.length === matching.length;
    // Everything the filters passed over counts as read, so a follower goes on from the newest.
    const cursor = last && !complete ? last.seq : Math.max(this.nextSeq - 1, after ?? 0);
    return { entries, cursor, ended: this.ended && complete, ...(dropped > 0 && { dropped }) };
  }

  /**
   * Resolves once there is an entry after `after`, the output has ended, `waitMs` has passed or
   * `signal` aborted, whichever comes first.
   */
  waitForMore(after: number, waitMs: number, signal?: AbortSignal): Promise<void> {
    if (this.ended || this.nextSeq - 1 > after || waitMs <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** The index of the first entry after `seq` (seqs increase, so a binary search: followers ask often). */
  private indexAfter(seq: number): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.entries[mid].seq > seq) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

function cost(data: Buffer): number {
  return data.length + LOG_ENTRY_OVERHEAD_BYTES;
}

/**
 * The entries holding the last `count` lines, the first of them cut to where its line begins.
 * Lines are counted over both streams in order; an unterminated last line counts as one.
 */
function lastLines(entries: readonly LogEntry[], count: number): LogEntry[] {
  if (count === 0) return [];
  let newlines = 0;
  let skipFinal = true;
  for (let i = entries.length - 1; i >= 0; i--) {
    const { data } = entries[i];
    for (let at = data.length - 1; at >= 0; at--) {
      // The newline ending the very last line terminates it; it does not begin another.
      if (skipFinal) {
        skipFinal = false;
        if (data[at] === NEWLINE) continue;
      }
      if (data[at] === NEWLINE && ++newlines === count) {
        const rest = entries.slice(i + 1);
        return at + 1 < data.length ? [{ ...entries[i], data: data.subarray(at + 1) }, ...rest] : rest;
      }
    }
  }
  return [...entries];
}
