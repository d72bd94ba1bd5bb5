import { once } from 'node:events';
import { SERIAL_SYNC, serialSyncAnswer } from '@moat/proto';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../log/logger';
import type { BytePort } from './byte-port';

/** Opens a fresh connection to the local gRPC server. */
export type SessionConnector = () => Promise<Duplex>;

export interface SessionBridgeOptions {
  /** Pause after a 0-byte read: virtio_console returns 0 at once while no host is attached. */
  disconnectedBackoffMs: number;
  readBufferBytes: number;
}

const SYNC_REQUEST = Buffer.from(SERIAL_SYNC.request, 'latin1');
const SYNC_REQUEST_LENGTH = SYNC_REQUEST.length + SERIAL_SYNC.nonceLength + 1;
const NONCE = /^[0-9a-f]+$/;

/** The nonce of the sync request a read starts with (SERIAL_SYNC), if it starts with one. */
function syncNonceAt(chunk: Buffer): string | undefined {
  if (chunk.length < SYNC_REQUEST_LENGTH || !chunk.subarray(0, SYNC_REQUEST.length).equals(SYNC_REQUEST)) return undefined;
  if (chunk[SYNC_REQUEST_LENGTH - 1] !== 0x0a) return undefined;
  const nonce = chunk.subarray(SYNC_REQUEST.length, SYNC_REQUEST_LENGTH - 1).toString('latin1');
  return NONCE.test(nonce) ? nonce : undefined;
}

export const DEFAULT_BRIDGE_OPTIONS: SessionBridgeOptions = { disconnectedBackoffMs: 20, readBufferBytes: 64 * 1024 };

/**
 * Pumps bytes between a port (one byte stream, no connection boundaries) and connections to
 * the gRPC server. Every host connection opens with a sync request (SERIAL_SYNC): it ends the
 * session before it, is answered, and what follows gets its own connection, so a fresh HTTP/2
 * session. A host that goes away shows up as the port's 0-byte read, which ends its session
 * too, but a guest that was paused (hibernated, forked, its host restarted) may never see that
 * read before the next host's bytes: the sync request is what makes the boundary certain.
 */
export class SessionBridge {
  private session?: BridgeSession;
  private stopped = false;
  private sessionsOpened = 0;
  // Port writes are serialised: one fd, and chunks of one HTTP/2 stream must not interleave.
  private portWrites: Promise<void> = Promise.resolve();

  constructor(
    private readonly port: BytePort,
    private readonly connect: SessionConnector,
    private readonly log: Logger,
    private readonly options: SessionBridgeOptions = DEFAULT_BRIDGE_OPTIONS,
  ) {}

  /** Runs until stop(); rejects when the port fails (the device went away), which is fatal. */
  async run(): Promise<void> {
    const buffer = Buffer.allocUnsafe(this.options.readBufferBytes);
    while (!this.stopped) {
      const bytesRead = await this.port.read(buffer);
      if (this.stopped) break;
      if (bytesRead === 0) {
        this.endSession('host disconnected');
        await sleep(this.options.disconnectedBackoffMs);
        continue;
      }
      let chunk = buffer.subarray(0, bytesRead);
      const nonce = syncNonceAt(chunk);
      if (nonce !== undefined) {
        this.endSession('a new host connected');
        void this.writeAnswer(serialSyncAnswer(nonce));
        chunk = chunk.subarray(SYNC_REQUEST_LENGTH);
        if (chunk.length === 0) continue;
      }
      const session = this.session ?? (await this.openSession());
      // Copied: the read buffer is reused while the socket may still hold the chunk.
      await session.send(Buffer.from(chunk));
    }
  }

  stop(): void {
    this.stopped = true;
    this.endSession('bridge stopped');
  }

  private async openSession(): Promise<BridgeSession> {
    const socket = await this.connect();
    const session: BridgeSession = new BridgeSession(socket, (chunk) => this.writeToPort(session, chunk), () => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    this.sessionsOpened += 1;
    this.log.info('host session opened', { session: this.sessionsOpened });
    return session;
  }

  private endSession(reason: string): void {
    const session = this.session;
    if (!session) return;
    this.session = undefined;
    session.end();
    this.log.info('host session closed', { session: this.sessionsOpened, reason });
  }

  /** Queued behind the ended session's writes, which are dropped: the host reads the answer after all it must discard. */
  private writeAnswer(answer: string): Promise<void> {
    this.portWrites = this.portWrites.then(() =>
      this.port.write(Buffer.from(answer, 'latin1')).catch((error: unknown) => this.log.error('port write failed', { error })),
    );
    return this.portWrites;
  }

  private writeToPort(session: BridgeSession, chunk: Buffer): Promise<void> {
    this.portWrites = this.portWrites.then(async () => {
      // Answers for a host that has gone would be read by the next one as garbage.
      if (!session.open) return;
      try {
        await this.port.write(chunk);
      } catch (error) {
        this.log.error('port write failed', { error });
        if (this.session === session) this.endSession('port write failed');
      }
    });
    return this.portWrites;
  }
}

class BridgeSession {
  open = true;

  constructor(
    private readonly socket: Duplex,
    writeToPort: (chunk: Buffer) => Promise<void>,
    onClosed: () => void,
  ) {
    socket.on('data', (chunk: Buffer) => {
      // The port is slower than a unix socket: stop reading the server until the chunk is out.
      socket.pause();
      void writeToPort(chunk).then(() => {
        if (this.open) socket.resume();
      });
    });
    const closed = (): void => {
      this.open = false;
      onClosed();
    };
    socket.once('close', closed);
    // An error is followed by 'close'; without a listener it would be thrown.
    socket.on('error', () => undefined);
  }

  /** Delivers host bytes to the server, waiting while the socket is full. */
  async send(chunk: Buffer): Promise<void> {
    if (!this.open) return;
    if (!this.socket.write(chunk)) {
      // once() rejects on 'error'; a server that hung up ends this session, never the bridge.
      await Promise.race([once(this.socket, 'drain'), once(this.socket, 'close')]).catch(() => undefined);
    }
  }

  end(): void {
    this.open = false;
    this.socket.destroy();
  }
}
