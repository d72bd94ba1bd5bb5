import { describe, expect, it } from '@jest/globals';
import { INIT_EXEC_ID } from '@moat/proto';
import type { OutputStream } from '../../agent/agent.types';
import { LogPump } from './log-pump';
import { LogRing } from './log-ring';

const ID = '0b5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d';

/** A guest whose streams give the chunks queued for them, then EOF if `eof`, else wait for more until aborted. */
class FakeOutput {
  readonly reads: string[] = [];
  constructor(
    private readonly chunks: Record<OutputStream, string[]>,
    private readonly eof: boolean,
    private readonly failWith?: Error,
  ) {}

  pumpOutput = async (containerId: string, execId: string, stream: OutputStream, sink: (chunk: Buffer) => Promise<void> | void, signal: AbortSignal) => {
    this.reads.push(`${containerId}/${execId}/${stream}`);
    for (const chunk of this.chunks[stream]) await sink(Buffer.from(chunk));
    if (this.failWith && stream === 'stderr') throw this.failWith;
    if (this.eof) return;
    await new Promise<void>((_, reject) => {
      const aborted = () => reject(new Error('ReadStdout aborted'));
      if (signal.aborted) aborted();
      else signal.addEventListener('abort', aborted, { once: true });
    });
  };
}

const contents = (ring: LogRing) => ring.read({ maxBytes: 1 << 20 }).entries.map((entry) => `${entry.stream}:${entry.data.toString()}`);

describe('LogPump', () => {
  it("reads both streams of the init process into the ring and ends it at their EOF", async () => {
    const agent = new FakeOutput({ stdout: ['a\n', 'b\n'], stderr: ['e\n'] }, true);
    const ring = new LogRing(4096);
    const errors: unknown[] = [];
    await new LogPump(agent, ID, ring, (error) => errors.push(error)).ended();
    expect(agent.reads.sort()).toEqual([`${ID}/${INIT_EXEC_ID}/stderr`, `${ID}/${INIT_EXEC_ID}/stdout`]);
    expect(contents(ring).sort()).toEqual(['stderr:e\n', 'stdout:a\n', 'stdout:b\n']);
    expect(ring.isEnded).toBe(true);
    expect(errors).toEqual([]);
  });

  it('stops at once when stopped (a delete), without reporting the cancelled reads, and ends the ring', async () => {
    const agent = new FakeOutput({ stdout: ['still running\n'], stderr: [] }, false);
    const ring = new LogRing(4096);
    const errors: unknown[] = [];
    const pump = new LogPump(agent, ID, ring, (error) => errors.push(error));
    const follower = ring.waitForMore(ring.read({ maxBytes: 1 << 20 }).cursor, 60_000);
    await pump.stop();
    await follower;
    expect(ring.isEnded).toBe(true);
    expect(contents(ring)).toEqual(['stdout:still running\n']);
    expect(errors).toEqual([]);
  });

  it('leaves the ring open when detached (a hibernate), for the next pump to add to after the wake', async () => {
    const ring = new LogRing(4096);
    await new LogPump(new FakeOutput({ stdout: ['before\n'], stderr: [] }, false), ID, ring, () => undefined).detach();
    expect(ring.isEnded).toBe(false);
    await new LogPump(new FakeOutput({ stdout: ['after\n'], stderr: [] }, true), ID, ring, () => undefined).ended();
    expect(contents(ring)).toEqual(['stdout:before\n', 'stdout:after\n']);
    expect(ring.isEnded).toBe(true);
  });

  it('reports a read that failed by itself, and still ends once the other stream does', async () => {
    const failure = new Error('ReadStderr: guest went away');
    const agent = new FakeOutput({ stdout: ['x'], stderr: [] }, true, failure);
    const ring = new LogRing(4096);
    const errors: Array<[unknown, OutputStream]> = [];
    await new LogPump(agent, ID, ring, (error, stream) => errors.push([error, stream])).ended();
    expect(errors).toEqual([[failure, 'stderr']]);
    expect(ring.isEnded).toBe(true);
  });
});
