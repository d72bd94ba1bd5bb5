import { randomUUID } from 'node:crypto';
import type { AgentApi } from './agent.client';
import type { ExitInfo, OutputStream, WindowSize } from './agent.types';

/** An interactive process as the caller asks for it. */
export interface SessionOptions {
  command: string[];
  env?: Record<string, string>;
  cwd?: string;
  tty: boolean;
  window?: WindowSize;
  timeoutMs?: number;
  /** Whom it runs as in the container; default root. */
  user?: { uid: number; gid: number };
}

const SIGKILL = 9;

/**
 * One interactive process in a sandbox's container (an attach): output is pumped to the
 * caller chunk by chunk, each chunk awaited before the next read (back-pressure reaches the
 * guest process), input and resizes go the other way. Closing it kills the process.
 */
export class ProcessSession {
  private readonly abort = new AbortController();
  private exit?: Promise<ExitInfo>;

  private constructor(
    private readonly agent: AgentApi,
    readonly containerId: string,
    readonly execId: string,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  static async start(
    agent: AgentApi,
    opts: Omit<SessionOptions, 'env'> & { env: string[] },
    containerId: string,
    onFailure: (error: unknown) => void,
  ): Promise<ProcessSession> {
    const session = new ProcessSession(agent, containerId, `session-${randomUUID()}`, onFailure);
    await session.guard(
      agent.startProcess({
        containerId,
        execId: session.execId,
        args: opts.command,
        env: opts.env,
        cwd: opts.cwd ?? '/',
        tty: opts.tty,
        window: opts.window,
        timeoutMs: opts.timeoutMs,
        user: opts.user,
      }),
    );
    return session;
  }

  /**
   * A session on a process that already runs, such as a container's init (`INIT_EXEC_ID`): its
   * output not yet read, its input, its end.
   */
  static attach(agent: AgentApi, containerId: string, execId: string, onFailure: (error: unknown) => void): ProcessSession {
    return new ProcessSession(agent, containerId, execId, onFailure);
  }

  /** Pumps stdout and stderr until both end; `sink` is awaited for each chunk. */
  async output(sink: (stream: OutputStream, chunk: Buffer) => Promise<void> | void): Promise<void> {
    const pump = (stream: OutputStream) =>
      this.agent.pumpOutput(this.containerId, this.execId, stream, (chunk) => sink(stream, chunk), this.abort.signal);
    await this.guard(Promise.all([pump('stdout'), pump('stderr')]));
  }

  write(data: Buffer): Promise<void> {
    return this.guard(this.agent.writeStdin(this.containerId, this.execId, data, this.abort.signal));
  }

  closeStdin(): Promise<void> {
    return this.guard(this.agent.closeStdin(this.containerId, this.execId, this.abort.signal));
  }

  resize(window: WindowSize): Promise<void> {
    return this.guard(this.agent.resizeTty(this.containerId, this.execId, window));
  }

  signal(signal: number): Promise<void> {
    return this.guard(this.agent.signalProcess(this.containerId, this.execId, signal));
  }

  /** Resolves once the process has ended. */
  wait(): Promise<ExitInfo> {
    this.exit ??= this.guard(this.agent.waitExit(this.containerId, this.execId, this.abort.signal));
    return this.exit;
  }

  /** Ends the session: kills the process if it still runs and stops every pending read. */
  async close(): Promise<void> {
    if (this.abort.signal.aborted) return;
    await this.agent.signalProcess(this.containerId, this.execId, SIGKILL).catch(() => undefined);
    this.abort.abort();
  }

  private async guard<T>(operation: Promise<T>): Promise<T> {
    try {
      return await operation;
    } catch (error) {
      this.onFailure(error);
      throw error;
    }
  }
}
