import {
  ATTACH_NAMESPACE,
  ATTACH_REPLY_TIMEOUT_MS,
  MAX_SESSION_CHUNK_BYTES,
  type AckReply,
  type AttachClientEvents,
  type AttachExit,
  type AttachServerEvents,
  type AttachStart,
  type OutputStream,
} from '@moat/proto';
import { io, type Socket } from 'socket.io-client';
import { API_URL } from './api';

/** Node's socket.io client hands binary payloads over as Buffers. */
type AttachSocket = Socket<AttachServerEvents<Buffer>, AttachClientEvents>;

/** One interactive session on `/attach`, as an API client would drive it. */
export class AttachSession {
  readonly stdout: Buffer[] = [];
  readonly stderr: Buffer[] = [];
  readonly exited: Promise<AttachExit>;
  private outputWaiters: Array<() => void> = [];

  private constructor(private readonly socket: AttachSocket) {
    socket.on('attach:output', (output, ack) => {
      this[output.stream].push(Buffer.from(output.data));
      for (const wake of this.outputWaiters.splice(0)) wake();
      ack(true);
    });
    this.exited = new Promise((resolve, reject) => {
      socket.on('attach:exit', resolve);
      socket.on('attach:error', (error) => reject(new Error(`${error.code}: ${error.message}`)));
    });
  }

  static async start(token: string, request: AttachStart): Promise<AttachSession> {
    const socket: AttachSocket = io(new URL(ATTACH_NAMESPACE, API_URL).toString(), {
      transports: ['websocket'],
      auth: { token },
      reconnection: false,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const session = new AttachSession(socket);
    const reply = (await socket.timeout(ATTACH_REPLY_TIMEOUT_MS).emitWithAck('attach:start', request)) as AckReply<{ sessionId: string }>;
    if (!reply.ok) {
      socket.close();
      throw new Error(`${reply.error.code}: ${reply.error.message}`);
    }
    return session;
  }

  /** Writes `data` in chunks, each acknowledged once the guest process has it. */
  async write(data: Buffer | string, chunkBytes = MAX_SESSION_CHUNK_BYTES): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
      const reply = (await this.socket.timeout(ATTACH_REPLY_TIMEOUT_MS).emitWithAck('attach:input', bytes.subarray(offset, offset + chunkBytes))) as AckReply<null>;
      if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
    }
  }

  eof(): void {
    this.socket.emit('attach:eof');
  }

  resize(rows: number, cols: number): void {
    this.socket.emit('attach:resize', { rows, cols });
  }

  signal(signal: number): void {
    this.socket.emit('attach:signal', signal);
  }

  text(stream: OutputStream = 'stdout'): string {
    return Buffer.concat(this[stream]).toString('utf8');
  }

  /** Waits until stdout matches `pattern`. */
  async waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.text())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in ${JSON.stringify(this.text().slice(-500))}`);
      await new Promise<void>((resolve) => {
        this.outputWaiters.push(resolve);
        setTimeout(resolve, 500);
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}
