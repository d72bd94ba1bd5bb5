import { describe, expect, it } from '@jest/globals';
import { LOG_ENTRY_OVERHEAD_BYTES, LogRing, type LogEntry } from './log-ring';

const START_MS = 1_700_000_000_000;
const FIRST_SEQ = START_MS * 1000;
const ALL = { maxBytes: 1 << 20 };

/** A ring whose clock reads START_MS plus what `clock.ms` says. */
function ringOf(capacityBytes: number) {
  const clock = { ms: 0 };
  return { ring: new LogRing(capacityBytes, () => START_MS + clock.ms), clock };
}

const text = (entries: readonly LogEntry[]) => entries.map((entry) => entry.data.toString()).join('');

describe('LogRing', () => {
  it('keeps chunks in order with their stream, time and increasing seq', () => {
    const { ring, clock } = ringOf(4096);
    ring.push('stdout', Buffer.from('hello\n'));
    clock.ms = 5;
    ring.push('stderr', Buffer.from('oops\n'));
    expect(ring.read(ALL)).toEqual({
      entries: [
        { seq: FIRST_SEQ, timeMs: START_MS, stream: 'stdout', data: Buffer.from('hello\n') },
        { seq: FIRST_SEQ + 1, timeMs: START_MS + 5, stream: 'stderr', data: Buffer.from('oops\n') },
      ],
      cursor: FIRST_SEQ + 1,
      ended: false,
    });
  });

  it('drops the oldest entries once the bytes would exceed its bound, and says how many a cursor missed', () => {
    const chunk = 100;
    const { ring } = ringOf(3 * (chunk + LOG_ENTRY_OVERHEAD_BYTES));
    for (const letter of 'abcde') ring.push('stdout', Buffer.alloc(chunk, letter));
    expect(ring.size).toBeLessThanOrEqual(3 * (chunk + LOG_ENTRY_OVERHEAD_BYTES));
    const page = ring.read({ ...ALL, after: FIRST_SEQ });
    expect(page.entries.map((entry) => entry.data[0])).toEqual([...'cde'].map((c) => c.charCodeAt(0)));
    // 'a' was read; 'b' was dropped before this read.
    expect(page.dropped).toBe(1);
    expect(ring.read({ ...ALL, after: page.cursor })).toEqual({ entries: [], cursor: page.cursor, ended: false });
  });

  it('keeps only the end of a chunk bigger than the whole ring', () => {
    const { ring } = ringOf(LOG_ENTRY_OVERHEAD_BYTES + 10);
    ring.push('stdout', Buffer.from('0123456789abcdef'));
    expect(text(ring.read(ALL).entries)).toBe('6789abcdef');
    expect(ring.size).toBe(LOG_ENTRY_OVERHEAD_BYTES + 10);
  });

  it('gives the last lines across chunks and streams, cutting the chunk where the first of them begins', () => {
    const { ring } = ringOf(4096);
    ring.push('stdout', Buffer.from('one\ntw'));
    ring.push('stdout', Buffer.from('o\nthree\n'));
    ring.push('stderr', Buffer.from('four\n'));
    expect(text(ring.read({ ...ALL, tail: 2 }).entries)).toBe('three\nfour\n');
    expect(ring.read({ ...ALL, tail: 2 }).entries.map((entry) => entry.stream)).toEqual(['stdout', 'stderr']);
    expect(text(ring.read({ ...ALL, tail: 3 }).entries)).toBe('two\nthree\nfour\n');
    expect(text(ring.read({ ...ALL, tail: 10 }).entries)).toBe('one\ntwo\nthree\nfour\n');
    expect(ring.read({ ...ALL, tail: 0 })).toEqual({ entries: [], cursor: FIRST_SEQ + 2, ended: false });
  });

  it('counts an unterminated last line as a line', () => {
    const { ring } = ringOf(4096);
    ring.push('stdout', Buffer.from('a\nb\nprompt> '));
    expect(text(ring.read({ ...ALL, tail: 1 }).entries)).toBe('prompt> ');
    expect(text(ring.read({ ...ALL, tail: 2 }).entries)).toBe('b\nprompt> ');
  });

  it('gives only what was read since a time', () => {
    const { ring, clock } = ringOf(4096);
    ring.push('stdout', Buffer.from('old\n'));
    clock.ms = 1000;
    ring.push('stdout', Buffer.from('new\n'));
    expect(text(ring.read({ ...ALL, sinceMs: START_MS + 500 }).entries)).toBe('new\n');
    expect(ring.read({ ...ALL, sinceMs: START_MS + 2000 })).toMatchObject({ entries: [], cursor: FIRST_SEQ + 1 });
  });

  it('pages by bytes, always giving at least one entry, and the cursor goes on from the last one given', () => {
    const { ring } = ringOf(4096);
    for (const letter of 'abc') ring.push('stdout', Buffer.alloc(10, letter));
    const first = ring.read({ maxBytes: 2 * (10 + LOG_ENTRY_OVERHEAD_BYTES) });
    expect(text(first.entries)).toBe('a'.repeat(10) + 'b'.repeat(10));
    expect(first.cursor).toBe(FIRST_SEQ + 1);
    expect(ring.read({ maxBytes: 1, after: first.cursor }).entries).toHaveLength(1);
  });

  it('gives exactly the entries after any cursor', () => {
    const { ring } = ringOf(1 << 20);
    for (let i = 0; i < 100; i++) ring.push('stdout', Buffer.from(`${i},`));
    for (const skip of [0, 1, 37, 98, 99, 100]) {
      expect(text(ring.read({ ...ALL, after: FIRST_SEQ + skip - 1 }).entries)).toBe(Array.from({ length: 100 - skip }, (_, i) => `${skip + i},`).join(''));
    }
  });

  it('says ended only once the output ended and the reader has everything', () => {
    const { ring } = ringOf(4096);
    ring.push('stdout', Buffer.alloc(10));
    ring.push('stdout', Buffer.alloc(10));
    ring.end();
    ring.push('stdout', Buffer.from('after the end'));
    const first = ring.read({ maxBytes: 1 });
    expect(first.ended).toBe(false);
    expect(ring.read({ maxBytes: 1, after: first.cursor })).toMatchObject({ ended: true, cursor: FIRST_SEQ + 1 });
  });

  it("reads an earlier ring's cursor as older than all it holds", () => {
    const { ring } = ringOf(4096);
    ring.push('stdout', Buffer.from('x'));
    expect(text(ring.read({ ...ALL, after: FIRST_SEQ - 5_000_000 }).entries)).toBe('x');
  });

  it('wakes a waiter on the next chunk or the end, and times out otherwise without a timer left behind', async () => {
    const { ring } = ringOf(4096);
    const waited = ring.waitForMore(FIRST_SEQ - 1, 60_000);
    ring.push('stdout', Buffer.from('x'));
    await waited;
    const ending = ring.waitForMore(FIRST_SEQ, 60_000);
    ring.end();
    await ending;

    const idle = ringOf(4096).ring;
    const started = Date.now();
    await idle.waitForMore(FIRST_SEQ, 20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    const abort = new AbortController();
    const aborted = idle.waitForMore(FIRST_SEQ, 60_000, abort.signal);
    abort.abort();
    await aborted;
  });
});
