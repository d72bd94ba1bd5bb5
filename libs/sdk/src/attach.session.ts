import { MAX_SESSION_CHUNK_BYTES, type AttachExit, type AttachStart, type WindowSize } from '@moat/proto/attach';
import { AttachOutputQueue } from './attach-output.queue';
import { connectAttach, sendInput, startProcess, type AttachEndpoint, type AttachSocket } from './attach.socket';
import { MoatAttachError } from './moat.error';

/** What `sandbox.attach` runs: everything `attach:start` takes but the sandbox. */
export type AttachOptions = Omit<AttachStart, 'sandboxId'>;

/**
 * An interactive session: one process in a sandbox's container, typically a shell on a TTY,
 * over a connection of its own. The process lives as long as the connection: `close()` (or
 * losing the connection) kills it.
 *
 * Read `output`: each chunk is acknowledged only once the loop asks for the next, and the
 * process is held up until then (so also when nobody reads). `exit` settles after the last
 * chunk was taken.
 */
export class AttachSession {
  /** The process's output, in order; it ends when the session does (`exit` says how). */
  readonly output = new AttachOutputQueue();
  /**
   * How the process ended. Rejects with a MoatAttachError carrying the server's code (the
   * process could not be run or relayed), `CONNECTION_LOST`, or `CLOSED` after `close()`.
   */
  readonly exit: Promise<AttachExit>;
  private settle!: { resolve: (exit: AttachExit) => void; reject: (err: MoatAttachError) => void };
  /** Why the session is over, once it is: what writes then fail with. */
  private ended?: MoatAttachError;
  /** Writes and the end of input, one after another. */
  private sending: Promise<unknown> = Promise.resolve();

  private constructor(private readonly socket: AttachSocket) {
    this.exit = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // Not every caller awaits the exit (one that detaches does not): no unhandled rejection then.
    this.exit.catch(() => undefined);
    socket.on('attach:output', ({ stream, data }, ack) => {
      this.output.push({ stream, data: data instanceof Uint8Array ? data : new Uint8Array(data) }, () => ack(true));
    });
    socket.on('attach:exit', (exit) => {
      this.settle.resolve(exit);
      this.finish(new MoatAttachError('CLOSED', `the session is over: its process exited (${exit.exitCode})`));
    });
    socket.on('attach:error', ({ code, message }) => this.fail(new MoatAttachError(code, message)));
    socket.on('disconnect', (reason) => {
      if (reason !== 'io client disconnect') this.fail(new MoatAttachError('CONNECTION_LOST', `the connection to the control plane was lost (${reason})`));
    });
  }

  /** Connects and starts the process, resolving once it runs; a refusal rejects with the server's code. */
  static async start(endpoint: AttachEndpoint, request: AttachStart): Promise<AttachSession> {
    const socket = await connectAttach(endpoint);
    // Listening before the start, so not even the process's first output is missed.
    const session = new AttachSession(socket);
    try {
      await startProcess(socket, request);
    } catch (err) {
      socket.close();
      throw err;
    }
    return session;
  }

  /**
   * Writes to the process's stdin in chunks of at most MAX_SESSION_CHUNK_BYTES, each awaited
   * until the process has it; writes (and `end`) are sent in the order they were called.
   */
  write(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    return this.enqueue(async () => {
      for (let offset = 0; offset < bytes.length; offset += MAX_SESSION_CHUNK_BYTES) {
        if (this.ended) throw this.ended;
        // Closing the socket fails the acknowledgement it waits for; the session's ending says why.
        await sendInput(this.socket, bytes.subarray(offset, offset + MAX_SESSION_CHUNK_BYTES)).catch((err: unknown) => {
          throw this.ended ?? err;
        });
      }
    });
  }

  /** Closes the process's stdin once what was written before has been taken (^D on a TTY). */
  end(): Promise<void> {
    return this.enqueue(() => {
      if (this.ended) return Promise.reject(this.ended);
      this.socket.emit('attach:eof');
      return Promise.resolve();
    });
  }

  /** Tells the process's TTY its new size. */
  resize(window: WindowSize): void {
    this.socket.emit('attach:resize', window);
  }

  /** Sends the process a signal (by number: 2 is SIGINT, 15 SIGTERM). */
  signal(signal: number): void {
    this.socket.emit('attach:signal', signal);
  }

  /** Ends the session: the connection closes and the process is killed. */
  close(): void {
    this.socket.close();
    this.fail(new MoatAttachError('CLOSED', 'the session was closed by this client'));
  }

  private enqueue(send: () => Promise<void>): Promise<void> {
    const sent = this.sending.then(send);
    this.sending = sent.catch(() => undefined);
    return sent;
  }

  private fail(err: MoatAttachError): void {
    this.settle.reject(err);
    this.finish(err);
  }

  /** Only the first ending counts: an exit, then the close it causes, is an exit. */
  private finish(err: MoatAttachError): void {
    if (this.ended) return;
    this.ended = err;
    this.output.end();
    this.socket.close();
  }
}
