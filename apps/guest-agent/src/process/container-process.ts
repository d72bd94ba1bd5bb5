import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { constants } from 'node:os';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { Logger } from '../log/logger';
import type { TrackedProcess } from './process-table';
import { StreamBuffer } from './stream-buffer';

export interface ExitStatus {
  /** The exit code, or 128 + signal number. */
  status: number;
  /** The signal that killed the process, 0 when it exited. */
  signal: number;
}

/**
 * A container process, seen through the foreground `crun run` or `crun exec` that is the
 * agent's child: crun hands its own stdio to the process and exits with its status.
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

  constructor(
    readonly containerId: string,
    readonly execId: string,
    private readonly child: ChildProcessWithoutNullStreams,
    streamLimitBytes: number,
    log: Logger,
  ) {
    this.stdout = new StreamBuffer(child.stdout, streamLimitBytes);
    this.stderr = new StreamBuffer(child.stderr, streamLimitBytes);
    // Writing to a process that has exited fails with EPIPE; WriteStdin reports it, the daemon must not die of it.
    child.stdin.on('error', (error) => log.warn('stdin write failed', { containerId, execId, error }));
    this.exited = new Promise((resolve) => {
      const settle = (status: ExitStatus): void => {
        if (this.exitStatus) return;
        this.exitStatus = status;
        resolve(status);
      };
      child.once('exit', (code, signal) => settle(this.toExitStatus(code, signal)));
      child.once('error', (error) => {
        log.error('cannot run crun', { containerId, execId, error });
        settle({ status: 255, signal: 0 });
      });
    });
  }

  hasExited(): boolean {
    return this.exitStatus !== undefined;
  }

  /** Remembers the signal so that crun's folded 128+n status can be told apart from `exit n`. */
  noteSignalSent(signal: number): void {
    this.lastSignal = signal;
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
    await new Promise<void>((resolve, reject) => {
      this.child.stdin.write(data, (error) =>
        error
          ? reject(new AgentError(AgentErrorCode.WRONG_STATE, `write stdin: ${error.message}`, { cause: error }))
          : resolve(),
      );
    });
    return data.length;
  }

  closeStdin(): void {
    this.stdinClosed = true;
    this.child.stdin.end();
  }

  /** Kills crun itself; used only when crun never reported the process as started. */
  abandon(): void {
    this.child.kill('SIGKILL');
  }

  private toExitStatus(code: number | null, signal: NodeJS.Signals | null): ExitStatus {
    if (signal) {
      const number = constants.signals[signal];
      return { status: 128 + number, signal: number };
    }
    const status = code ?? 255;
    // crun exits with 128+n when the process died of signal n.
    const folded = status - 128;
    return { status, signal: folded > 0 && folded === this.lastSignal ? folded : 0 };
  }
}
