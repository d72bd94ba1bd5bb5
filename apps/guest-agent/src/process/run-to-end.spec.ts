import { spawn } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { AgentErrorCode } from '../errors/agent.error';
import { ContainerProcess } from './container-process';
import { PipeProcessHandle } from './process-handle';
import { runToEnd } from './run-to-end';

/** A real child standing in for `crun exec`: its pipes and exit are what the agent sees. */
function started(script: string): ContainerProcess {
  const handle = PipeProcessHandle.ofChild(spawn('sh', ['-c', script]), () => undefined);
  return new ContainerProcess('c', 'e', handle, 1024 * 1024);
}

const never = new AbortController().signal;

describe('runToEnd', () => {
  it('answers the whole run at once: stdin in, both streams to their end, the exit; the process is settled', async () => {
    const process = started('cat; echo err >&2; exit 3');
    const answer = await runToEnd(process, Buffer.from('hi\n'), 4096, never);
    expect(answer).toEqual({ complete: true, exit: { status: 3, signal: 0, oomKilled: false, timedOut: false }, stdout: Buffer.from('hi\n'), stderr: Buffer.from('err\n') });
    expect(process.isSettled()).toBe(true);
  });

  it('answers incomplete and takes nothing when the output outgrows one answer', async () => {
    const process = started('head -c 5000 /dev/zero');
    const answer = await runToEnd(process, Buffer.alloc(0), 1000, never);
    expect(answer.complete).toBe(false);
    let read = 0;
    for (let chunk = await process.stdout.read(65536); chunk.length > 0; chunk = await process.stdout.read(65536)) read += chunk.length;
    expect(read).toBe(5000);
  });

  it("answers incomplete when the host's deadline comes first, also with input the process never reads; it goes on", async () => {
    const process = started('exec sleep 5');
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(), 50);
    // More than a pipe holds: a write that waited for the reader would outlast the deadline.
    expect((await runToEnd(process, Buffer.alloc(512 * 1024), 1000, deadline.signal)).complete).toBe(false);
    expect(process.hasExited()).toBe(false);
    process.abandon();
    await process.exited;
  });

  it('refuses an inline size one answer cannot carry', async () => {
    const process = started('true');
    await expect(runToEnd(process, Buffer.alloc(0), 64 * 1024 * 1024, never)).rejects.toMatchObject({ code: AgentErrorCode.INVALID_ARGUMENT });
    await process.exited;
  });
});
