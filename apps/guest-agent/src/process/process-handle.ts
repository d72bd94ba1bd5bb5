import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';

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

/** A child with piped stdio (`crun run`/`crun exec` without a terminal). */
export class PipeProcessHandle implements ProcessHandle {
  readonly terminal = false;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exited: Promise<RawExit>;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    onStdinError: (error: Error) => void,
  ) {
    this.stdout = child.stdout;
    this.stderr = child.stderr;
    // Writing to a process that has exited fails with EPIPE; WriteStdin reports it, the daemon must not die of it.
    child.stdin.on('error', onStdinError);
    this.exited = new Promise((resolve) => {
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
  }

  write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.child.stdin.write(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  endInput(): void {
    this.child.stdin.end();
  }

  resize(): void {
    throw new Error('the process has no terminal');
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
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
