import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { describe, expect, it } from '@jest/globals';
import { dialMove, listenForMove } from './move-channel';
import { MoveErrorCode } from './move.errors';

const HOST = '127.0.0.1';

/** Whether anything still listens on the port: a plain TCP connect is refused once the listener is gone. */
async function refused(port: number): Promise<boolean> {
  const socket = connect(port, HOST);
  try {
    await once(socket, 'connect');
    return false;
  } catch (err) {
    return (err as { code?: string }).code === 'ECONNREFUSED';
  } finally {
    socket.destroy();
  }
}

async function readAll(socket: TLSSocket): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('move channel', () => {
  it('carries bytes both ways between the two holders of the key, and closes its port after the one connection', async () => {
    const ref = { moveId: randomUUID(), key: randomBytes(32) };
    const listener = await listenForMove({ ...ref, host: HOST });
    const [dialed, accepted] = await Promise.all([dialMove({ ...ref, host: HOST, port: listener.port }), listener.accepted]);
    expect(await refused(listener.port)).toBe(true);
    // The source's side ends after its bytes; the target still answers on its own.
    dialed.end('saved state');
    expect(await readAll(accepted)).toBe('saved state');
    accepted.end('{"ok":true}\n');
    expect(await readAll(dialed)).toBe('{"ok":true}\n');
  });

  it('fails on both ends when the dialer holds another key', async () => {
    const moveId = randomUUID();
    const listener = await listenForMove({ moveId, key: randomBytes(32), host: HOST });
    const [dialed, accepted] = await Promise.allSettled([
      dialMove({ moveId, key: randomBytes(32), host: HOST, port: listener.port }),
      listener.accepted,
    ]);
    expect(dialed).toMatchObject({ status: 'rejected', reason: { code: MoveErrorCode.MOVE_KEY_REJECTED } });
    expect(accepted).toMatchObject({ status: 'rejected', reason: { code: MoveErrorCode.MOVE_KEY_REJECTED, message: expect.stringContaining("does not hold this move's key") } });
    expect(await refused(listener.port)).toBe(true);
  });

  it('refuses a dialer that names another move, even with the key', async () => {
    const key = randomBytes(32);
    const listener = await listenForMove({ moveId: randomUUID(), key, host: HOST });
    const [dialed, accepted] = await Promise.allSettled([dialMove({ moveId: randomUUID(), key, host: HOST, port: listener.port }), listener.accepted]);
    expect(dialed).toMatchObject({ status: 'rejected', reason: { code: MoveErrorCode.MOVE_KEY_REJECTED } });
    expect(accepted).toMatchObject({ status: 'rejected', reason: { code: MoveErrorCode.MOVE_KEY_REJECTED, message: expect.stringContaining('another move') } });
  });

  it('closes its port when nobody connects in time', async () => {
    const listener = await listenForMove({ moveId: randomUUID(), key: randomBytes(32), host: HOST, timeoutMs: 50 });
    await expect(listener.accepted).rejects.toMatchObject({ code: MoveErrorCode.MOVE_CONNECT_FAILED, message: expect.stringContaining('within 50 ms') });
    expect(await refused(listener.port)).toBe(true);
  });

  it('closes its port on close(), and a connection still in its handshake with it', async () => {
    const listener = await listenForMove({ moveId: randomUUID(), key: randomBytes(32), host: HOST });
    // A TCP connection that never starts TLS.
    const idle = connect(listener.port, HOST);
    await once(idle, 'connect');
    listener.close();
    await expect(listener.accepted).rejects.toMatchObject({ code: MoveErrorCode.MOVE_CONNECT_FAILED });
    await once(idle, 'close');
    expect(await refused(listener.port)).toBe(true);
  });

  it('says it cannot listen on an address that is not this host', async () => {
    await expect(listenForMove({ moveId: randomUUID(), key: randomBytes(32), host: '192.0.2.1' })).rejects.toMatchObject({
      code: MoveErrorCode.MOVE_NO_ADDRESS,
    });
  });
});
