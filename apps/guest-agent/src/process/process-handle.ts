import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { constants } from 'node:os';
import { PassThrough, type Readable, type Writable } from 'node:stream';

/** How a process ended, as its parent (crun) saw it. */
export interface RawExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The agent's end of a container process's stdio: plain pipes, or a pseudo-terminal whose
 * master carries stdin and the merged stdout/stderr.
 */
export interface ProcessHandle {
  readonly terminal: boolean;
  readonly stdout: Readable;
  /** Always ends at once for a terminal: the pty merges stderr into stdout. */
  readonly stderr: Readable;
  readonly exited: Promise<RawExit>;
  write(data: Buffer): Promise<void>;
  endInput(): void;
  /** Sets the terminal's size; throws for pipes. */
  resize(rows: number, cols: number): void;
  /** Signals the direct child (crun). */
  kill(signal: NodeJS.Signals): void;
}

/** A process's piped stdio, how it ends, and how to signal it. */
export interface ProcessPipes {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  exited: Promise<RawExit>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * A process with piped stdio: a child of the agent (`crun run`/`crun exec` without a
 * terminal, see {@link PipeProcessHandle.ofChild}) or one a container's spawner started.
 */
export class PipeProcessHandle implements ProcessHandle {
  readonly terminal = false;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exited: Promise<RawExit>;

  constructor(
    private readonly pipes: ProcessPipes,
    onStdinError: (error: Error) => void,
  ) {
    this.stdout = pipes.stdout;
    this.stderr = pipes.stderr;
    this.exited = pipes.exited;
    // Writing to a process that has exited fails with EPIPE; WriteStdin reports it, the daemon must not die of it.
    pipes.stdin.on('error', onStdinError);
  }

  /** The agent's child, whose stdio are the pipes Node gave it. */
  static ofChild(child: ChildProcessWithoutNullStreams, onStdinError: (error: Error) => void): PipeProcessHandle {
    const exited = new Promise<RawExit>((resolve) => {
      let settled = false;
      const settle = (exit: RawExit): void => {
        if (settled) return;
        settled = true;
        resolve(exit);
      };
      child.once('exit', (code, signal) => settle({ code, signal }));
      // crun could not be started at all.
      child.once('error', () => settle({ code: 255, signal: null }));
    });
    const { stdin, stdout, stderr } = child;
    return new PipeProcessHandle({ stdin, stdout, stderr, exited, kill: (signal) => child.kill(signal) }, onStdinError);
  }

  write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pipes.stdin.write(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  endInput(): void {
    this.pipes.stdin.end();
  }

  resize(): void {
    throw new Error('the process has no terminal');
  }

  kill(signal: NodeJS.Signals): void {
    this.pipes.kill(signal);
  }
}

/** The name of signal `number` (9: SIGKILL), null for a number that names none. */
export function signalName(number: number): NodeJS.Signals | null {
  const entry = Object.entries(constants.signals).find(([, value]) => value === number);
  return entry ? (entry[0] as NodeJS.Signals) : null;
}

/** A stream that has already ended, for the stderr of a terminal process. */
export function endedStream(): Readable {
  const stream = new PassThrough();
  stream.end();
  return stream;
}

/**
 * A process that never ran: crun could not start it (a missing command, a missing working
 * directory). It has already exited with `code`, and `message` is all it wrote, on stderr —
 * the way a shell reports a command it cannot run.
 */
export class NotStartedProcessHandle implements ProcessHandle {
  readonly terminal = false;
  readonly stdout = endedStream();
  readonly stderr: Readable;
  readonly exited: Promise<RawExit>;

  constructor(code: number, message: string) {
    const stderr = new PassThrough();
    stderr.end(`${message}\n`);
    this.stderr = stderr;
    this.exited = Promise.resolve({ code, signal: null });
  }

  write(): Promise<void> {
    return Promise.reject(new Error('the process never started'));
  }

  endInput(): void {
    // Nothing reads it.
  }

  resize(): void {
    throw new Error('the process has no terminal');
  }

  kill(): void {
    // Already gone.
  }
}
