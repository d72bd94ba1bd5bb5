import { status as GrpcStatus } from '@grpc/grpc-js';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { AgentExecRequest, AgentLimits, AgentProcessRequest, ExecOutput, ExitInfo, OutputStream } from './agent.types';
import { isProtocolViolation } from './agent.validation';

/** The process calls of the guest agent an exec is made of. */
export interface ProcessCalls {
  startProcess(req: AgentProcessRequest): Promise<void>;
  /**
   * Starts the process and, when it ends with output that fits one answer, gives its whole run;
   * undefined when it goes on, to be read with the calls below as after `startProcess`.
   */
  runToEnd(req: AgentProcessRequest, stdin: Buffer): Promise<ExecOutput | undefined>;
  pumpOutput(containerId: string, execId: string, stream: OutputStream, sink: (chunk: Buffer) => Promise<void> | void, signal: AbortSignal): Promise<void>;
  writeStdin(containerId: string, execId: string, data: Buffer, signal?: AbortSignal): Promise<void>;
  closeStdin(containerId: string, execId: string, signal?: AbortSignal): Promise<void>;
  signalProcess(containerId: string, execId: string, signal: number): Promise<void>;
  waitExit(containerId: string, execId: string, signal: AbortSignal): Promise<ExitInfo>;
}

const SIGKILL = 9;

/**
 * `AgentClient.exec` over the process calls: starts the process, feeds and closes its stdin,
 * captures both streams and waits for its exit, killing it from the host too if the guest does
 * not enforce its deadline.
 */
export async function execToCompletion(calls: ProcessCalls, limits: AgentLimits, req: AgentExecRequest): Promise<ExecOutput> {
  const started = Date.now();
  const stdin = req.stdin ?? Buffer.alloc(0);
  // Input that fits one call goes with the start, and most execs are then one round trip to the
  // guest instead of four (start, both streams to their end, the exit).
  if (stdin.length <= limits.writeChunkBytes) {
    try {
      const whole = await calls.runToEnd(req, stdin);
      return whole ?? (await collect(calls, limits, req, undefined, started));
    } catch (error) {
      // A guest agent older than ExecSync (its VM outlived an upgrade of the node agent).
      if (!(error instanceof RuntimeError && error.context.grpcCode === GrpcStatus.UNIMPLEMENTED)) throw error;
    }
  }
  await calls.startProcess(req);
  return collect(calls, limits, req, stdin, started);
}

/**
 * The streaming part of an exec, once the process runs: captures both streams and waits for its
 * exit (feeding `stdin` first unless it was handed over already), killing the process from the
 * host too if the guest does not enforce its deadline (counted from `started`).
 */
async function collect(calls: ProcessCalls, limits: AgentLimits, req: AgentExecRequest, stdin: Buffer | undefined, started: number): Promise<ExecOutput> {
  const { containerId, execId } = req;
  const abort = new AbortController();
  let hostTimedOut = false;
  let graceTimer: NodeJS.Timeout | undefined;
  // The guest enforces the deadline; the host's own timer only covers a guest that does not.
  const killTimer =
    req.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          hostTimedOut = true;
          calls.signalProcess(containerId, execId, SIGKILL).catch(() => undefined);
          // A guest that keeps the streams open after SIGKILL gets no more of our time.
          graceTimer = setTimeout(() => abort.abort(), limits.killGraceMs);
        }, Math.max(0, started + req.timeoutMs + limits.killGraceMs - Date.now()));

  try {
    // The wait goes with the reads, not after them: one round trip to the guest less per exec
    // (the guest keeps the process until its exit was answered and both streams were drained).
    const [stdout, stderr, , exit] = await Promise.all([
      capture(calls, limits, containerId, execId, 'stdout', abort.signal),
      capture(calls, limits, containerId, execId, 'stderr', abort.signal),
      stdin && feedStdin(calls, containerId, execId, stdin, abort.signal),
      calls.waitExit(containerId, execId, abort.signal),
    ]);
    return { ...exit, timedOut: exit.timedOut || hostTimedOut, stdout, stderr };
  } catch (error) {
    if (hostTimedOut && abort.signal.aborted) {
      throw new RuntimeError(RuntimeErrorCode.AGENT_PROTOCOL_VIOLATION, `exec ${execId} did not end within ${limits.killGraceMs} ms of SIGKILL`, {
        cause: error,
      });
    }
    throw error;
  } finally {
    abort.abort();
    clearTimeout(killTimer);
    clearTimeout(graceTimer);
  }
}

/** Collects one stream, killing the process when it outgrows `maxOutputBytes`. */
async function capture(calls: ProcessCalls, limits: AgentLimits, containerId: string, execId: string, stream: OutputStream, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  await calls.pumpOutput(containerId, execId, stream, (chunk) => {
    total += chunk.length;
    if (total > limits.maxOutputBytes) {
      calls.signalProcess(containerId, execId, SIGKILL).catch(() => undefined);
      throw new RuntimeError(
        RuntimeErrorCode.EXEC_OUTPUT_LIMIT_EXCEEDED,
        `exec ${execId}: ${stream} exceeded ${limits.maxOutputBytes} bytes; the process was killed`,
      );
    }
    chunks.push(chunk);
  }, signal);
  return Buffer.concat(chunks);
}

async function feedStdin(calls: ProcessCalls, containerId: string, execId: string, stdin: Buffer, signal: AbortSignal): Promise<void> {
  try {
    await calls.writeStdin(containerId, execId, stdin, signal);
    await calls.closeStdin(containerId, execId, signal);
  } catch (error) {
    // A process that exits without reading all its input is normal (EPIPE for a shell pipe);
    // only a lying guest is an error here.
    if (isProtocolViolation(error)) throw error;
  }
}
