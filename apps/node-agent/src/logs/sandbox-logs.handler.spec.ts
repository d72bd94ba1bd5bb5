import { describe, expect, it } from '@jest/globals';
import { MAX_LOGS_PAGE_BYTES, sandboxLogsWireSchema, unpackLogsPage } from '@moat/proto';
import type { LogEntry, LogPage, LogQuery, LogReader } from '@moat/runtime-core';
import { readSandboxLogs } from './sandbox-logs.handler';

const ID = '0b5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d';
const entry = (seq: number, text: string): LogEntry => ({ seq, timeMs: 1_700_000_000_000 + seq, stream: 'stdout', data: Buffer.from(text) });

/** Logs that answer reads with the queued pages in order, and record the reads and waits asked of them. */
class ScriptedLogs implements LogReader {
  readonly queries: LogQuery[] = [];
  readonly waits: Array<[number, number]> = [];
  constructor(private readonly pages: LogPage[]) {}
  read(query: LogQuery): LogPage {
    this.queries.push(query);
    const page = this.pages.shift();
    if (!page) throw new Error('read more often than scripted');
    return page;
  }
  waitForMore(after: number, waitMs: number): Promise<void> {
    this.waits.push([after, waitMs]);
    return Promise.resolve();
  }
}

describe('readSandboxLogs', () => {
  it('answers at once with what there is, in pages of at most MAX_LOGS_PAGE_BYTES, as the fleet schema wants it', async () => {
    const logs = new ScriptedLogs([{ entries: [entry(5, 'hi\n')], cursor: 5, ended: false, dropped: 2 }]);
    const page = await readSandboxLogs(() => logs, { sandboxId: ID, after: 2, sinceMs: 10, tail: 3, waitMs: 5_000 });
    expect(unpackLogsPage(sandboxLogsWireSchema.parse(page))).toEqual({
      entries: [{ seq: 5, timeMs: 1_700_000_000_005, stream: 'stdout', data: new Uint8Array(Buffer.from('hi\n')) }],
      cursor: 5,
      ended: false,
      dropped: 2,
    });
    expect(logs.queries).toEqual([{ after: 2, sinceMs: 10, tail: 3, maxBytes: MAX_LOGS_PAGE_BYTES }]);
    expect(logs.waits).toEqual([]);
  });

  it('waits for more when there is nothing yet, then reads on from the cursor without tail', async () => {
    const logs = new ScriptedLogs([
      { entries: [], cursor: 9, ended: false, dropped: 1 },
      { entries: [entry(10, 'later\n')], cursor: 10, ended: false },
    ]);
    const page = await readSandboxLogs(() => logs, { sandboxId: ID, tail: 0, waitMs: 8_000 });
    expect(page).toMatchObject({ entries: [{ seq: 10 }], cursor: 10, dropped: 1 });
    expect(logs.waits).toEqual([[9, 8_000]]);
    expect(logs.queries[1]).toEqual({ after: 9, sinceMs: undefined, maxBytes: MAX_LOGS_PAGE_BYTES });
  });

  it('does not wait when the output has ended or the request may not wait', async () => {
    const ended = new ScriptedLogs([{ entries: [], cursor: 3, ended: true }]);
    expect(await readSandboxLogs(() => ended, { sandboxId: ID, after: 3, waitMs: 8_000 })).toEqual({ entries: [], data: new Uint8Array(), cursor: 3, ended: true });
    const noWait = new ScriptedLogs([{ entries: [], cursor: 3, ended: false }]);
    await readSandboxLogs(() => noWait, { sandboxId: ID, after: 3 });
    expect([...ended.waits, ...noWait.waits]).toEqual([]);
  });

  it("passes on the runtime's refusal with its code", async () => {
    const notFound = Object.assign(new Error(`sandbox ${ID} not found`), { code: 'SANDBOX_NOT_FOUND' });
    await expect(
      readSandboxLogs(() => {
        throw notFound;
      }, { sandboxId: ID }),
    ).rejects.toBe(notFound);
  });
});
