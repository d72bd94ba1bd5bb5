import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type Socket } from 'node:net';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import { FdPassingSocket } from '../../host/fd-passing';

/** QMP replies are small; anything larger means we are not talking to QEMU. */
const MAX_LINE_BYTES = 1024 * 1024;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export interface QmpStatus {
  status: string;
  running: boolean;
}

/** A minimal QEMU Machine Protocol client: one command in flight per id, each with a deadline. */
export class QmpClient {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private closedError: Error | undefined;
  private socketClosed = false;

  private constructor(
    private readonly socket: Socket,
    /** Set on a client made by `connectPassingFds`. */
    private readonly fdSocket?: FdPassingSocket,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (error) => this.fail(new RuntimeError(RuntimeErrorCode.QMP_FAILED, 'QMP socket error', { cause: error })));
    socket.on('close', () => {
      this.socketClosed = true;
      this.fail(new RuntimeError(RuntimeErrorCode.QMP_FAILED, 'QMP socket closed'));
    });
  }

  /**
   * Connects, waits for the greeting and leaves capabilities-negotiation mode. A refused
   * connection is tried again until `timeoutMs`: QEMU binds its socket (the path appears) a
   * moment before it listens on it, and a starved host can stretch that moment.
   */
  static async connect(socketPath: string, timeoutMs: number): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(1, deadline - Date.now());
    for (;;) {
      let socket: Socket;
      try {
        socket = await connectOnce(socketPath, left());
      } catch (error) {
        const refused = error instanceof RuntimeError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED';
        if (!refused || Date.now() + CONNECT_RETRY_MS >= deadline) throw error;
        await sleep(CONNECT_RETRY_MS);
        continue;
      }
      return QmpClient.negotiate(new QmpClient(socket), left());
    }
  }

  /** Like `connect`, on a connection that can also hand QEMU descriptors (`executeWithDescriptor`). */
  static async connectPassingFds(socketPath: string, timeoutMs: number): Promise<QmpClient> {
    let fdSocket: FdPassingSocket;
    try {
      fdSocket = await FdPassingSocket.connect(socketPath);
    } catch (cause) {
      throw new RuntimeError(RuntimeErrorCode.QMP_FAILED, `QMP connect to ${socketPath}`, { cause });
    }
    return QmpClient.negotiate(new QmpClient(fdSocket.stream, fdSocket), timeoutMs);
  }

  /** Waits for the greeting and leaves capabilities-negotiation mode. */
  private static async negotiate(client: QmpClient, timeoutMs: number): Promise<QmpClient> {
    try {
      await client.waitFor('greeting', timeoutMs);
      await client.execute('qmp_capabilities', undefined, timeoutMs);
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  execute(command: string, args: Record<string, unknown> | undefined, timeoutMs: number): Promise<unknown> {
    const { id, line } = this.request(command, args);
    const reply = this.waitFor(id, timeoutMs, command);
    this.socket.write(line);
    return reply;
  }

  /**
   * Sends a command with `descriptor` attached (SCM_RIGHTS), as `getfd` and `add-fd` need.
   * Only on a client from `connectPassingFds`, with no other command in flight.
   */
  async executeWithDescriptor(command: string, args: Record<string, unknown>, descriptor: number, timeoutMs: number): Promise<unknown> {
    if (!this.fdSocket) throw new RuntimeError(RuntimeErrorCode.QMP_FAILED, `QMP ${command} needs a connection that passes descriptors`);
    if (this.pending.size > 0) throw new RuntimeError(RuntimeErrorCode.QMP_FAILED, `QMP ${command} sent while another command is in flight`);
    const { id, line } = this.request(command, args);
    const reply = this.waitFor(id, timeoutMs, command);
    try {
      await this.fdSocket.sendWithDescriptor(Buffer.from(line), descriptor);
    } catch (cause) {
      this.fail(new RuntimeError(RuntimeErrorCode.QMP_FAILED, `QMP ${command}: sending the descriptor failed`, { cause }));
    }
    return reply;
  }

  private request(command: string, args: Record<string, unknown> | undefined): { id: string; line: string } {
    const id = String(this.nextId++);
    return { id, line: `${JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id })}\n` };
  }

  async queryStatus(timeoutMs: number): Promise<QmpStatus> {
    const reply = await this.execute('query-status', undefined, timeoutMs);
    if (typeof reply !== 'object' || reply === null || typeof (reply as QmpStatus).status !== 'string') {
      throw new RuntimeError(RuntimeErrorCode.QMP_FAILED, `unexpected query-status reply: ${JSON.stringify(reply)}`);
    }
    const { status, running } = reply as QmpStatus;
    return { status, running: running === true };
  }

  /** Asks QEMU to exit. QEMU may close the socket before or after replying; both mean success. */
  async quit(timeoutMs: number): Promise<void> {
    try {
      await this.execute('quit', undefined, timeoutMs);
    } catch (error) {
      if (!this.socketClosed) throw error;
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private waitFor(key: string, timeoutMs: number, what = key): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(new RuntimeError(RuntimeErrorCode.QMP_FAILED, `QMP ${what} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(key, { resolve, reject, timer });
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let newline;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line) this.onMessage(line);
    }
    if (this.buffer.length > MAX_LINE_BYTES) {
      this.fail(new RuntimeError(RuntimeErrorCode.QMP_FAILED, 'QMP message too large'));
      this.socket.destroy();
    }
  }

  private onMessage(line: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch (cause) {
      this.fail(new RuntimeError(RuntimeErrorCode.QMP_FAILED, 'QMP sent invalid JSON', { cause }));
      this.socket.destroy();
      return;
    }
    if ('QMP' in message) return this.settle('greeting', message);
    // Asynchronous events (SHUTDOWN, STOP, …) carry no id and are not replies.
    if ('event' in message) return;
    const id = typeof message.id === 'string' ? message.id : undefined;
    if (id === undefined) return;
    if ('error' in message) {
      const error = message.error as { class?: string; desc?: string };
      return this.settle(id, undefined, new RuntimeError(RuntimeErrorCode.QMP_FAILED, `QMP error ${error.class ?? '?'}: ${error.desc ?? ''}`));
    }
    this.settle(id, message.return);
  }

  private settle(key: string, value: unknown, error?: Error): void {
    const pending = this.pending.get(key);
    if (!pending) return;
    this.pending.delete(key);
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(value);
  }

  private fail(error: Error): void {
    this.closedError ??= error;
    for (const [key, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(key);
      pending.reject(error);
    }
  }
}

/** How long a refused QMP connection waits before it is tried again. */
const CONNECT_RETRY_MS = 20;

/** One connection attempt to a QMP socket; QMP_FAILED (with the socket error as cause) or a timeout. */
function connectOnce(socketPath: string, timeoutMs: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const s = connect(socketPath);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new RuntimeError(RuntimeErrorCode.QMP_FAILED, `QMP connect to ${socketPath} timed out`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (cause) => {
      clearTimeout(timer);
      reject(new RuntimeError(RuntimeErrorCode.QMP_FAILED, `QMP connect to ${socketPath}`, { cause }));
    });
  });
}
