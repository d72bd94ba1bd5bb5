import { AGENT_MAX_CHUNK_BYTES, type ExecSyncResponse } from '@moat/proto';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { ContainerProcess } from './container-process';
import type { StreamBuffer } from './stream-buffer';

const INCOMPLETE: ExecSyncResponse = { complete: false, exit: undefined, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

/**
 * ExecSync's wait: feeds `stdin` to a process just started and closes it, then waits for its
 * exit and both streams' end, and answers all of it at once. Output past `inlineBytes`, or
 * `signal` (the host's deadline coming), answers incomplete and takes nothing: the process goes
 * on, and the host reads it with the streaming calls. A complete answer settles the process
 * (its exit answered, both streams read to the end).
 */
export async function runToEnd(process: ContainerProcess, stdin: Buffer, inlineBytes: number, signal: AbortSignal): Promise<ExecSyncResponse> {
  if (!Number.isInteger(inlineBytes) || inlineBytes < 1 || inlineBytes > AGENT_MAX_CHUNK_BYTES) {
    throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `inline_bytes must be 1-${AGENT_MAX_CHUNK_BYTES}, got ${inlineBytes}`);
  }
  // Fed while the output is watched: a process that reads its input late must not hold up the
  // answer's deadline. One that exits without reading it is normal (a shell pipe's EPIPE).
  const feed = stdin.length > 0 ? process.writeStdin(stdin).catch(() => 0) : Promise.resolve(0);
  void feed.then(() => process.closeStdin());
  const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  for (;;) {
    if (process.stdout.size + process.stderr.size > inlineBytes) return INCOMPLETE;
    if (process.hasExited() && process.stdout.ended && process.stderr.ended) break;
    if (signal.aborted) return INCOMPLETE;
    // Whichever comes next: output or the end of a stream still open, the exit, the deadline.
    const next = [process.stdout, process.stderr].filter((stream) => !stream.ended).map((stream) => stream.changed());
    await Promise.race([...next, aborted, ...(process.hasExited() ? [] : [process.exited])]);
  }
  const exit = await process.exited;
  const [stdout, stderr] = [await drain(process.stdout), await drain(process.stderr)];
  process.noteWaitAnswered();
  return { complete: true, exit, stdout, stderr };
}

/** Everything an ended stream still holds, its end reported. */
async function drain(stream: StreamBuffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const chunk = await stream.read(AGENT_MAX_CHUNK_BYTES);
    if (chunk.length === 0) return Buffer.concat(parts);
    parts.push(chunk);
  }
}
