import { constants } from 'node:os';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { ProcessHandle, RawExit } from './process-handle';
import type { TrackedProcess } from './process-table';
import { StreamBuffer } from './stream-buffer';

export interface ExitStatus {
  /** The exit code, or 128 + signal number. */
  status: number;
  /** The signal that killed the process, 0 when it exited. */
  signal: number;
  /** The container's OOM killer killed it. */
  oomKilled: boolean;
  /** The agent killed it when its deadline passed. */
  timedOut: boolean;
}

/** Facts about an exit only the container knows (its cgroup's OOM counter). */
export type ExitClassifier = (status: { status: number; signal: number }) => Promise<{ oomKilled: boolean }>;

/**
 * A container process, seen through the foreground `crun run` or `crun exec` that is the
 * agent's child: crun hands its own stdio (pipes or a pty slave) to the process and exits
 * with its status.
 */
export class ContainerProcess implements TrackedProcess {
  readonly stdout: StreamBuffer;
  readonly stderr: StreamBuffer;
  readonly exited: Promise<ExitStatus>;
  /** The process's pid in the agent's pid namespace, once crun has reported it. */
  pid?: number;
  private exitStatus?: ExitStatus;
  private lastSignal = 0;
  private waitAnswered = false;
  private stdinClosed = false;
  private timedOut = false;

  constructor(
    readonly containerId: string,
    readonly execId: string,
    private readonly handle: ProcessHandle,
    streamLimitBytes: number,
    classify: ExitClassifier = () => Promise.resolve({ oomKilled: false }),
  ) {
    this.stdout = new StreamBuffer(handle.stdout, streamLimitBytes);
    this.stderr = new StreamBuffer(handle.stderr, streamLimitBytes);
    this.exited = handle.exited.then(async (raw) => {
      const base = this.toExitStatus(raw);
      const { oomKilled } = await classify(base).catch(() => ({ oomKilled: false }));
      this.exitStatus = { ...base, oomKilled, timedOut: this.timedOut };
      return this.exitStatus;
    });
  }

  get terminal(): boolean {
    return this.handle.terminal;
  }

  hasExited(): boolean {
    return this.exitStatus !== undefined;
  }

  /** Remembers the signal so that crun's folded 128+n status can be told apart from `exit n`. */
  noteSignalSent(signal: number): void {
    this.lastSignal = signal;
  }

  /** The agent is killing the process because its deadline passed. */
  noteTimedOut(): void {
    this.timedOut = true;
    this.lastSignal = SIGKILL;
  }

  noteWaitAnswered(): void {
    this.waitAnswered = true;
  }

  isSettled(): boolean {
    return this.waitAnswered && this.stdout.eofDelivered && this.stderr.eofDelivered;
  }

  async writeStdin(data: Buffer): Promise<number> {
    if (this.stdinClosed || this.hasExited()) {
      throw new AgentError(AgentErrorCode.WRONG_STATE, `stdin of process "${this.execId}" is closed`);
    }
    try {
      await this.handle.write(data);
    } catch (cause) {
      throw new AgentError(AgentErrorCode.WRONG_STATE, `write stdin: ${(cause as Error).message}`, { cause });
    }
    return data.length;
  }

  closeStdin(): void {
    if (this.stdinClosed) return;
    this.stdinClosed = true;
    this.handle.endInput();
  }

  resize(rows: number, cols: number): void {
    if (!this.handle.terminal) {
      throw new AgentError(AgentErrorCode.WRONG_STATE, `process "${this.execId}" has no terminal`);
    }
    if (this.hasExited()) return;
    this.handle.resize(rows, cols);
  }

  /** Kills crun itself; used only when crun never reported the process as started. */
  abandon(): void {
    this.handle.kill('SIGKILL');
  }

  private toExitStatus({ code, signal }: RawExit): { status: number; signal: number } {
    if (signal) {
      const number = constants.signals[signal];
      return { status: 128 + number, signal: number };
    }
    const status = code ?? 255;
    // crun exits with 128+n when the process died of signal n.
    const folded = status - 128;
    return { status, signal: folded > 0 && (folded === this.lastSignal || folded === SIGKILL) ? folded : 0 };
  }
}

const SIGKILL = 9;
