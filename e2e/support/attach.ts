import { io, type Socket } from 'socket.io-client';
import { API_URL } from './api';

export interface AttachExit {
  exitCode: number;
  signal: number;
  oomKilled: boolean;
  timedOut: boolean;
}

type Reply<T> = { ok: true; result: T } | { ok: false; error: { code: string; message: string } };

/** One interactive session on `/attach`, as an API client would drive it. */
export class AttachSession {
  readonly stdout: Buffer[] = [];
  readonly stderr: Buffer[] = [];
  readonly exited: Promise<AttachExit>;
  private outputWaiters: Array<() => void> = [];

  private constructor(private readonly socket: Socket) {
    socket.on('attach:output', (output: { stream: 'stdout' | 'stderr'; data: Buffer }, ack: (taken: boolean) => void) => {
      this[output.stream].push(Buffer.from(output.data));
      for (const wake of this.outputWaiters.splice(0)) wake();
      ack(true);
    });
    this.exited = new Promise((resolve, reject) => {
      socket.on('attach:exit', resolve);
      socket.on('attach:error', (error: { code: string; message: string }) => reject(new Error(`${error.code}: ${error.message}`)));
    });
  }

  static async start(token: string, request: Record<string, unknown>): Promise<AttachSession> {
    const socket = io(new URL('/attach', API_URL).toString(), { transports: ['websocket'], auth: { token }, reconnection: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const session = new AttachSession(socket);
    const reply = (await socket.timeout(60_000).emitWithAck('attach:start', request)) as Reply<{ sessionId: string }>;
    if (!reply.ok) {
      socket.close();
      throw new Error(`${reply.error.code}: ${reply.error.message}`);
    }
    return session;
  }

  /** Writes `data` in chunks, each acknowledged once the guest process has it. */
  async write(data: Buffer | string, chunkBytes = 1024 * 1024): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
      const reply = (await this.socket.timeout(60_000).emitWithAck('attach:input', bytes.subarray(offset, offset + chunkBytes))) as Reply<null>;
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

  text(stream: 'stdout' | 'stderr' = 'stdout'): string {
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
