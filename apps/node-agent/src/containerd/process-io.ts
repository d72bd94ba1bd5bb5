import { constants, open } from 'node:fs';
import { Socket } from 'node:net';
import { promisify } from 'node:util';
import type { Stdio } from '@moat/proto/node-tasks';
import type { ProcessSession } from '@moat/runtime-core';

const openFd = promisify(open);

/** What the FIFOs are joined to: a process's session in the guest. */
export type ProcessStreams = Pick<ProcessSession, 'output' | 'write' | 'closeStdin'>;

/**
 * Opens a FIFO containerd made for a process's output, without blocking: containerd's client
 * holds the read end before it asks for the process, so there is a reader or nobody to write to
 * (ENXIO). A socket over the fd gives backpressure, and EPIPE when the reader goes.
 */
async function openOutput(path: string): Promise<Socket | undefined> {
  if (path === '') return undefined;
  return socketOver(await openFd(path, constants.O_WRONLY | constants.O_NONBLOCK), 'out');
}

function socketOver(fd: number, direction: 'in' | 'out'): Socket {
  // The socket owns the fd from here: destroying it closes the FIFO.
  const socket = new Socket({ fd, readable: direction === 'in', writable: direction === 'out' });
  socket.on('error', () => socket.destroy());
  return socket;
}

/**
 * Opens a process's stdin FIFO for reading, without blocking. Until containerd's client opens
 * its end the socket just sees nothing to read (epoll reports a FIFO hung up only once a writer
 * came and went), then its data, then its end.
 */
async function openInput(path: string): Promise<Socket | undefined> {
  if (path === '') return undefined;
  return socketOver(await openFd(path, constants.O_RDONLY | constants.O_NONBLOCK), 'in');
}

function write(socket: Socket | undefined, data: Buffer): Promise<void> {
  if (!socket || socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    if (socket.write(data)) return resolve();
    const done = (): void => {
      socket.off('drain', done).off('close', done);
      resolve();
    };
    socket.once('drain', done).once('close', done);
  });
}

function end(socket: Socket | undefined): Promise<void> {
  if (!socket || socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.end(resolve));
}

/**
 * A containerd process's stdio: the FIFOs containerd gave, joined to the process in the guest
 * through its session. Output is copied chunk by chunk (a slow reader slows the process, nothing
 * is dropped); stdin is copied until containerd's end closes, then the process's stdin is closed.
 */
export class ProcessIo {
  private constructor(
    private readonly stdin: Socket | undefined,
    private readonly stdout: Socket | undefined,
    private readonly stderr: Socket | undefined,
  ) {}

  static async open(stdio: Stdio): Promise<ProcessIo> {
    const opened: Socket[] = [];
    const keep = (socket: Socket | undefined) => {
      if (socket) opened.push(socket);
      return socket;
    };
    try {
      const stdout = keep(await openOutput(stdio.stdout));
      // On a terminal the pty merges both streams into stdout.
      const stderr = stdio.terminal ? undefined : keep(await openOutput(stdio.stderr));
      return new ProcessIo(keep(await openInput(stdio.stdin)), stdout, stderr);
    } catch (error) {
      for (const socket of opened) socket.destroy();
      throw error;
    }
  }

  /**
   * Joins the FIFOs to `session` until its output ends; then closes the output FIFOs. Stdin
   * keeps flowing meanwhile; containerd closing its end closes the process's stdin.
   */
  async copy(session: ProcessStreams): Promise<void> {
    if (this.stdin) copyStdin(this.stdin, session);
    try {
      await session.output((stream, chunk) => write(stream === 'stdout' ? this.stdout : (this.stderr ?? this.stdout), chunk));
    } finally {
      await Promise.all([end(this.stdout), end(this.stderr)]);
    }
  }

  /** Stops copying and closes every FIFO at once. */
  close(): void {
    for (const socket of [this.stdin, this.stdout, this.stderr]) socket?.destroy();
  }
}

/** Copies containerd's stdin to the process, one chunk at a time, and closes the process's stdin at its end. */
function copyStdin(stdin: Socket, session: ProcessStreams): void {
  let written = Promise.resolve();
  stdin.on('data', (chunk: Buffer) => {
    stdin.pause();
    written = session.write(chunk).then(
      () => void stdin.resume(),
      () => void stdin.destroy(),
    );
  });
  stdin.once('end', () => void written.then(() => session.closeStdin()).catch(() => undefined));
}
