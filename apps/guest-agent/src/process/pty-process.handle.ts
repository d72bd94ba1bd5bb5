import { Readable } from 'node:stream';
import type { IPty } from '@lydell/node-pty';
import { endedStream, signalName, type ProcessHandle, type RawExit } from './process-handle';

/** ^D: what "end of input" means on a terminal in canonical mode. */
const END_OF_TRANSMISSION = Buffer.from([4]);

/**
 * A child on a pseudo-terminal (node-pty). The pty is created by the agent and `crun exec`
 * runs on its slave side with a process spec saying `terminal: false`, so crun hands the
 * slave to the container process as its stdio; the agent keeps the master. Reading pauses
 * the master when the agent's buffer is full, so a chatty process blocks instead of growing memory.
 */
export class PtyProcessHandle implements ProcessHandle {
  readonly terminal = true;
  readonly stdout: Readable;
  readonly stderr = endedStream();
  readonly exited: Promise<RawExit>;

  constructor(private readonly pty: IPty) {
    this.stdout = new Readable({ read: () => pty.resume() });
    // Spawned with `encoding: null`, node-pty hands out Buffers, although its typings say string.
    pty.onData((chunk: string | Buffer) => {
      if (!this.stdout.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) pty.pause();
    });
    this.exited = new Promise((resolve) => {
      pty.onExit(({ exitCode, signal }) => {
        this.stdout.push(null);
        resolve({ code: signal ? null : exitCode, signal: signal ? signalName(signal) : null });
      });
    });
  }

  write(data: Buffer): Promise<void> {
    // node-pty writes Buffers to the master as they are; its typings only mention strings.
    (this.pty.write as (data: string | Buffer) => void)(data);
    return Promise.resolve();
  }

  endInput(): void {
    void this.write(END_OF_TRANSMISSION);
  }

  resize(rows: number, cols: number): void {
    this.pty.resize(cols, rows);
  }

  kill(signal: NodeJS.Signals): void {
    this.pty.kill(signal);
  }
}
