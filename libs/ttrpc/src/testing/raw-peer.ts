import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Request, Response, type DeepPartial } from '../generated/ttrpc';
import { encodeFrame, MessageType } from '../wire/frame';
import { FrameDecoder, type DecodedFrame } from '../wire/frame-decoder';

/**
 * The far end of a unix socket speaking raw ttrpc frames, for tests that send what a
 * well-behaved client or server never would, or look at exactly what was sent.
 */
export class RawPeer {
  private readonly decoder = new FrameDecoder();
  private readonly received: DecodedFrame[] = [];
  private waiting: (() => void) | undefined;
  readonly closed: Promise<void>;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received.push(...this.decoder.push(chunk));
      this.waiting?.();
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
  }

  static connect(path: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect(path, () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends a request frame (or, with another `type`, the same payload as a message of that type). */
  sendRequest(streamId: number, request: DeepPartial<Request>, type: number = MessageType.Request): void {
    const frame = encodeFrame(streamId, MessageType.Request, Request.encode(Request.fromPartial(request)).finish());
    frame.writeUInt8(type, 8);
    this.socket.write(frame);
  }

  /** Sends a response frame. */
  sendResponse(streamId: number, response: DeepPartial<Response>): void {
    this.socket.write(encodeFrame(streamId, MessageType.Response, Response.encode(Response.fromPartial(response)).finish()));
  }

  /** The next frame received, waiting for it if need be. */
  async nextFrame(): Promise<DecodedFrame> {
    while (this.received.length === 0) await new Promise<void>((resolve) => (this.waiting = resolve));
    return this.received.shift() as DecodedFrame;
  }

  /** The next frame, which must be a response: its stream id and decoded message. */
  async nextResponse(): Promise<{ streamId: number; response: Response }> {
    const frame = await this.nextFrame();
    if (frame.kind !== 'message' || frame.header.type !== MessageType.Response) throw new Error(`expected a response, got ${JSON.stringify(frame.header)}`);
    return { streamId: frame.header.streamId, response: Response.decode(frame.payload) };
  }

  /** The next frame, which must be a request: its stream id and decoded message. */
  async nextRequest(): Promise<{ streamId: number; request: Request }> {
    const frame = await this.nextFrame();
    if (frame.kind !== 'message' || frame.header.type !== MessageType.Request) throw new Error(`expected a request, got ${JSON.stringify(frame.header)}`);
    return { streamId: frame.header.streamId, request: Request.decode(frame.payload) };
  }
}

/** A unix socket server whose connections are RawPeers, in the order they came. */
export class RawServer {
  private readonly peers: RawPeer[] = [];
  private readonly sockets = new Set<Socket>();
  private waiting: (() => void) | undefined;

  private constructor(private readonly server: Server) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      this.peers.push(new RawPeer(socket));
      this.waiting?.();
    });
  }

  static listen(path: string): Promise<RawServer> {
    const server = createServer();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve(new RawServer(server)));
    });
  }

  /** The next connection, waiting for it if need be. */
  async nextPeer(): Promise<RawPeer> {
    while (this.peers.length === 0) await new Promise<void>((resolve) => (this.waiting = resolve));
    return this.peers.shift() as RawPeer;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A fresh temp directory for sockets, and its removal. */
export async function socketDir(): Promise<{ path: (name: string) => string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'moat-ttrpc-'));
  return { path: (name) => join(dir, name), remove: () => rm(dir, { recursive: true, force: true }) };
}
