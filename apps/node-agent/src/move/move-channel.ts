import { once } from 'node:events';
import type { Socket } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { MOVE_CONNECT_TIMEOUT_MS } from '@moat/proto';
import { MoveError, MoveErrorCode } from './move.errors';

/**
 * TLS-PSK: both nodes hold the move's one-time key, so the key authenticates each end to the
 * other and no node needs a server certificate. Node.js offers PSK (`pskCallback`) with TLS 1.2 only.
 */
const PSK_TLS = { ciphers: 'PSK-AES256-GCM-SHA384', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const;

/** Which move a channel is for: the move id is the PSK identity, the key the PSK. */
export interface MoveKeyRef {
  moveId: string;
  key: Buffer;
}

/** A port open for one move's one connection. */
export interface MoveListener {
  readonly host: string;
  readonly port: number;
  /**
   * The one authenticated connection (half-open allowed: the source ends its side when its bytes
   * are sent and still reads the answer). Rejects on the first failed handshake, after the
   * timeout, or on `close()`; the port is closed either way.
   */
  readonly accepted: Promise<TLSSocket>;
  /** Closes the port and any connection not yet accepted; idempotent. */
  close(): void;
}

/**
 * Opens an ephemeral port on `host` for one move: it takes exactly one connection that proves it
 * holds the move's key, and closes itself after that connection, after any failed one (a move
 * is not retried on the same port: the control plane starts another) or after `timeoutMs`.
 */
export async function listenForMove(ref: MoveKeyRef & { host: string; timeoutMs?: number }): Promise<MoveListener> {
  const timeoutMs = ref.timeoutMs ?? MOVE_CONNECT_TIMEOUT_MS;
  let offered: string | undefined;
  const server = createServer({
    ...PSK_TLS,
    allowHalfOpen: true,
    handshakeTimeout: timeoutMs,
    pskCallback: (_socket, identity) => {
      if (identity === ref.moveId) return ref.key;
      offered = identity;
      return null;
    },
  });
  // Connections still in their handshake when the listener ends are ended with it.
  const pending = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    pending.add(socket);
    socket.once('close', () => pending.delete(socket));
  });
  let settled = false;
  let resolveAccepted!: (socket: TLSSocket) => void;
  let rejectAccepted!: (err: Error) => void;
  const accepted = new Promise<TLSSocket>((resolve, reject) => {
    resolveAccepted = resolve;
    rejectAccepted = reject;
  });
  // Whoever listens handles it; a listener closed before anyone waits must not crash the agent.
  accepted.catch(() => undefined);
  const end = (outcome: { socket: TLSSocket } | { error: Error }): void => {
    if (settled) {
      if ('socket' in outcome) outcome.socket.destroy();
      return;
    }
    settled = true;
    clearTimeout(timer);
    server.close();
    for (const socket of pending) socket.destroy();
    pending.clear();
    if ('socket' in outcome) resolveAccepted(outcome.socket);
    else rejectAccepted(outcome.error);
  };
  server.on('secureConnection', (socket: TLSSocket) => {
    // `pending` holds the TCP sockets under the TLS ones: this one is no longer pending.
    for (const raw of pending) if (raw.remotePort === socket.remotePort && raw.remoteAddress === socket.remoteAddress) pending.delete(raw);
    end({ socket });
  });
  server.on('tlsClientError', (err, socket) => {
    socket.destroy();
    end({ error: handshakeError(err, ref.moveId, offered) });
  });
  server.on('error', (cause) => end({ error: new MoveError(MoveErrorCode.MOVE_CONNECT_FAILED, `move ${ref.moveId}: listening failed`, { cause }) }));

  const timer = setTimeout(
    () => end({ error: new MoveError(MoveErrorCode.MOVE_CONNECT_FAILED, `move ${ref.moveId}: no node connected within ${timeoutMs} ms`) }),
    timeoutMs,
  );
  server.listen(0, ref.host);
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
  } catch (cause) {
    // The 'error' listener above has ended the listener: the timer and the server are closed.
    throw new MoveError(MoveErrorCode.MOVE_NO_ADDRESS, `move ${ref.moveId}: cannot listen on ${ref.host}`, { cause });
  }
  const { port } = server.address() as { port: number };
  return {
    host: ref.host,
    port,
    accepted,
    close: () => end({ error: new MoveError(MoveErrorCode.MOVE_CONNECT_FAILED, `move ${ref.moveId}: the port was closed`) }),
  };
}

/** Connects to the target's port for the move and completes the PSK handshake, or fails within `timeoutMs`. */
export async function dialMove(ref: MoveKeyRef & { host: string; port: number; timeoutMs?: number }): Promise<TLSSocket> {
  const timeoutMs = ref.timeoutMs ?? MOVE_CONNECT_TIMEOUT_MS;
  const socket = connect({
    ...PSK_TLS,
    host: ref.host,
    port: ref.port,
    pskCallback: () => ({ identity: ref.moveId, psk: ref.key }),
    // Node.js checks a host name against the server's certificate even in a PSK session, which has
    // none; the key already proved who answered.
    checkServerIdentity: () => undefined,
  });
  return new Promise<TLSSocket>((resolve, reject) => {
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new MoveError(MoveErrorCode.MOVE_CONNECT_FAILED, `move ${ref.moveId}: no TLS session with ${ref.host}:${ref.port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onError = (err: Error): void => fail(handshakeError(err, ref.moveId));
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/**
 * OpenSSL's failures that mean the two ends hold different keys or moves: the server cannot
 * decrypt the client's Finished (`CIPHER_OPERATION_FAILED`, `DECRYPT`), the client gets its
 * alert (`BAD_RECORD_MAC`), or an identity the server does not know (`PSK_IDENTITY`).
 */
const KEY_MISMATCH = /BAD_RECORD_MAC|CIPHER_OPERATION_FAILED|DECRYPT|PSK_IDENTITY/;

function handshakeError(err: Error, moveId: string, offeredIdentity?: string): MoveError {
  if (offeredIdentity !== undefined) {
    return new MoveError(MoveErrorCode.MOVE_KEY_REJECTED, `move ${moveId}: a node connected for another move (${offeredIdentity.slice(0, 64)})`, { cause: err });
  }
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && KEY_MISMATCH.test(code)) {
    return new MoveError(MoveErrorCode.MOVE_KEY_REJECTED, `move ${moveId}: the other node does not hold this move's key`, { cause: err });
  }
  return new MoveError(MoveErrorCode.MOVE_CONNECT_FAILED, `move ${moveId}: ${err.message}`, { cause: err });
}
