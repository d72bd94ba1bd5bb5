import { constants, open } from 'node:fs';
import { promisify } from 'node:util';
import { Socket } from 'node:net';
import type { LogReader } from '@moat/runtime-core';
import type { Stdio } from '@moat/proto/node-tasks';

/** Bytes of output read from the ring per page. */
const PAGE_BYTES = 256 * 1024;
/** How long one wait for more output lasts before the pump checks again. */
const WAIT_MS = 30_000;

/**
 * Opens a FIFO containerd made for a process's output, without blocking: containerd's client
 * holds its read end before it asks for the task, so there is a reader or there is no one to
 * write to (ENXIO). A socket over the fd gives writes with backpressure and EPIPE when the
 * reader goes.
 */
async function openOutput(path: string): Promise<Socket | undefined> {
  if (path === '') return undefined;
  const fd = await promisify(open)(path, constants.O_WRONLY | constants.O_NONBLOCK);
  // The socket owns the fd from here: destroying it closes the FIFO.
  const socket = new Socket({ fd, readable: false, writable: true });
  socket.on('error', () => socket.destroy());
  return socket;
}

function write(socket: Socket | undefined, data: Buffer): Promise<void> {
  if (!socket || socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    if (socket.write(data)) resolve();
    else {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.once('drain', done).once('close', done);
    }
  });
}

function end(socket: Socket | undefined): Promise<void> {
  if (!socket || socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.end(resolve));
}

/**
 * A containerd task's init output, copied from its sandbox's log ring into the FIFOs containerd
 * gave (stdout and stderr apart), until the process's output ends or the copy is stopped.
 */
export class TaskOutput {
  private readonly stop = new AbortController();

  private constructor(
    private readonly stdout: Socket | undefined,
    private readonly stderr: Socket | undefined,
  ) {}

  static async open(stdio: Stdio): Promise<TaskOutput> {
    const stdout = await openOutput(stdio.stdout);
    try {
      return new TaskOutput(stdout, await openOutput(stdio.stderr));
    } catch (error) {
      stdout?.destroy();
      throw error;
    }
  }

  /** Copies until the output ends (every byte written) or {@link close}; then closes both FIFOs. */
  async copy(reader: LogReader): Promise<void> {
    let cursor: number | undefined;
    try {
      while (!this.stop.signal.aborted) {
        const page = reader.read({ after: cursor, maxBytes: PAGE_BYTES });
        for (const entry of page.entries) await write(entry.stream === 'stdout' ? this.stdout : this.stderr, entry.data);
        cursor = page.cursor;
        if (page.ended) break;
        await reader.waitForMore(cursor, WAIT_MS, this.stop.signal);
      }
    } finally {
      await Promise.all([end(this.stdout), end(this.stderr)]);
    }
  }

  /** Stops copying and closes the FIFOs at once. */
  close(): void {
    this.stop.abort();
    this.stdout?.destroy();
    this.stderr?.destroy();
  }
}
