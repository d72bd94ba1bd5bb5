import { Socket } from 'node:net';
import { Writable, type Readable } from 'node:stream';
import { endedStream, type ProcessHandle, type RawExit } from './process-handle';

/** What the handle asks of the spawner that started its process. */
export interface SpawnedProcessControl {
  signal(signal: NodeJS.Signals): void;
}

/**
 * A process moat-spawner started: its stdio are pipes the agent opened through the spawner's
 * /proc fd links, and its end is what the spawner's wait(2) reported. An end that could not be
 * opened is `undefined`: stdin of a process that had exited already, or any of them when the
 * spawner died first.
 */
export class SpawnedProcessHandle implements ProcessHandle {
  readonly terminal = false;
  readonly stdout: Readable;
  readonly stderr: Readable;
  private readonly stdin: Writable;

  constructor(
    fds: { stdin: number | undefined; stdout: number | undefined; stderr: number | undefined },
    readonly exited: Promise<RawExit>,
    private readonly control: SpawnedProcessControl,
    onStdinError: (error: Error) => void,
  ) {
    this.stdout = fds.stdout === undefined ? endedStream() : new Socket({ fd: fds.stdout, readable: true, writable: false });
    this.stderr = fds.stderr === undefined ? endedStream() : new Socket({ fd: fds.stderr, readable: true, writable: false });
    this.stdin = fds.stdin === undefined ? closedInput() : new Socket({ fd: fds.stdin, readable: false, writable: true });
    // Writing to a process that has exited fails with EPIPE; WriteStdin reports it, the daemon must not die of it.
    this.stdin.on('error', onStdinError);
  }

  write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stdin.write(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  endInput(): void {
    this.stdin.end();
  }

  resize(): void {
    throw new Error('the process has no terminal');
  }

  kill(signal: NodeJS.Signals): void {
    this.control.signal(signal);
  }
}

/** The stdin of a process that is gone: every write fails as a pipe without a reader would. */
function closedInput(): Writable {
  return new Writable({
    write: (_chunk, _encoding, callback) => callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })),
  });
}
