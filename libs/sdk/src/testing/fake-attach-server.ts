import { createServer as createHttpServer, type Server as HttpServer, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import {
  ATTACH_NAMESPACE,
  MAX_SESSION_CHUNK_BYTES,
  type AttachClientEvents,
  type AttachExit,
  type AttachServerEvents,
  type AttachStart,
  type ErrorInfo,
  type OutputStream,
  type WindowSize,
} from '@moat/proto/attach';

/** What a client sent after `attach:start`, in order. */
export type SessionEvent = { input: string } | { eof: true } | { resize: WindowSize } | { signal: number };

export interface FakeAttachServerOptions {
  /** The token to accept (others are refused as the control plane does). */
  token: string;
  /** The refusal of `attach:start`, if any. */
  refuseStart?: ErrorInfo;
  /** The refusal of every `attach:input`, if any. */
  refuseInput?: ErrorInfo;
  /** A certificate and key to serve https with. */
  tls?: { cert: Buffer; key: Buffer };
  /** What answers the requests that are not socket.io's (REST, for a client run as a process). */
  rest?: RequestListener;
}

/**
 * One session as the fake control plane holds it: what the client asked for and sent, and the
 * means to answer as a process would.
 */
export class FakeAttachSession {
  readonly events: SessionEvent[] = [];
  /** When the client disconnected, if it did. */
  disconnected = false;

  constructor(
    readonly request: AttachStart,
    private readonly socket: Socket<AttachClientEvents, AttachServerEvents>,
  ) {}

  /** Everything written to stdin, as text. */
  get input(): string {
    return this.events.flatMap((event) => ('input' in event ? [event.input] : [])).join('');
  }

  /** Sends a chunk of output, resolving once the client acknowledged it (as the control plane waits). */
  async output(stream: OutputStream, data: string | Uint8Array): Promise<void> {
    await this.socket.emitWithAck('attach:output', { stream, data: typeof data === 'string' ? Buffer.from(data) : data });
  }

  exit(exit: Partial<AttachExit> = {}): void {
    this.socket.emit('attach:exit', { exitCode: 0, signal: 0, oomKilled: false, timedOut: false, ...exit });
  }

  error(error: ErrorInfo): void {
    this.socket.emit('attach:error', error);
  }

  /** The control plane goes away. */
  drop(): void {
    this.socket.disconnect(true);
  }
}

/**
 * A stand-in for the control plane's `/attach` namespace on a real socket.io server (http or
 * https, on a loopback port), for tests of attach clients: it checks the token, records what
 * each session receives, and lets the test play the process.
 */
export class FakeAttachServer {
  private readonly waiting: Array<(session: FakeAttachSession) => void> = [];
  private readonly started: FakeAttachSession[] = [];

  private constructor(
    private readonly http: HttpServer,
    private readonly io: Server,
    readonly url: string,
  ) {}

  static async start(options: FakeAttachServerOptions): Promise<FakeAttachServer> {
    const rest = options.rest ?? ((_request, response) => response.writeHead(404).end());
    const http = options.tls ? createHttpsServer(options.tls, rest) : createHttpServer(rest);
    // The control plane takes input chunks of MAX_SESSION_CHUNK_BYTES; socket.io's default limit is lower.
    const io = new Server(http, { maxHttpBufferSize: 2 * MAX_SESSION_CHUNK_BYTES });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    const server = new FakeAttachServer(http, io, `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`);
    server.serve(options);
    return server;
  }

  /** The next session to start (or the first one started and not yet taken). */
  session(): Promise<FakeAttachSession> {
    const started = this.started.shift();
    if (started) return Promise.resolve(started);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** How many clients are connected now. */
  get connections(): number {
    return this.io.of(ATTACH_NAMESPACE).sockets.size;
  }

  async stop(): Promise<void> {
    await this.io.close();
    this.http.closeAllConnections();
  }

  private serve({ token, refuseStart, refuseInput }: FakeAttachServerOptions): void {
    const namespace = this.io.of(ATTACH_NAMESPACE);
    namespace.use((socket, next) => next((socket.handshake.auth as { token?: unknown }).token === token ? undefined : new Error('unauthenticated')));
    namespace.on('connection', (socket: Socket<AttachClientEvents, AttachServerEvents>) => {
      let session: FakeAttachSession | undefined;
      socket.on('attach:start', (request, ack) => {
        if (refuseStart) return ack({ ok: false, error: refuseStart });
        session = new FakeAttachSession(request, socket);
        ack({ ok: true, result: { sessionId: 'fake-session' } });
        this.begin(session);
      });
      socket.on('attach:input', (data, ack) => {
        if (refuseInput) return ack({ ok: false, error: refuseInput });
        session?.events.push({ input: Buffer.from(data).toString() });
        ack({ ok: true, result: null });
      });
      socket.on('attach:eof', () => session?.events.push({ eof: true }));
      socket.on('attach:resize', (window) => session?.events.push({ resize: window }));
      socket.on('attach:signal', (signal) => session?.events.push({ signal }));
      socket.on('disconnect', () => {
        if (session) session.disconnected = true;
      });
    });
  }

  private begin(session: FakeAttachSession): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter(session);
    else this.started.push(session);
  }
}
