import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { SERIAL_SYNC, serialSyncAnswer } from '@moat/proto';
import { RuntimeErrorCode } from '../../errors/runtime.errors';
import { unixSocketServers } from '../../testing/unix-socket-servers';
import { dialVirtioSerial } from './virtio-serial.dialer';

/** The nonce of the sync request a fake guest received. */
function nonceOf(request: string): string {
  expect(request.startsWith(SERIAL_SYNC.request)).toBe(true);
  return request.slice(SERIAL_SYNC.request.length, SERIAL_SYNC.request.length + SERIAL_SYNC.nonceLength);
}

async function readAll(socket: Socket): Promise<string> {
  socket.resume();
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await once(socket, 'end');
  return text;
}

describe('dialVirtioSerial', () => {
  const sockets = unixSocketServers('vser-');

  it('drops what an old session still sends, answers included with the wrong nonce, and keeps what follows its own answer', async () => {
    // QEMU's chardev: the guest's blocked writes of an old session arrive first, then the answer.
    await sockets.listen(
      'agent.sock',
      createServer((socket) => {
        socket.once('data', (request: Buffer) => {
          const nonce = nonceOf(request.toString('latin1'));
          socket.write('late answer of the old session');
          socket.write(serialSyncAnswer('0'.repeat(SERIAL_SYNC.nonceLength)));
          // The answer split across writes, with the new session's first bytes behind it.
          const answer = serialSyncAnswer(nonce);
          socket.write(answer.slice(0, 7));
          setTimeout(() => socket.end(`${answer.slice(7)}SETTINGS`), 20);
        });
      }),
    );
    const stream = await dialVirtioSerial(sockets.path('agent.sock'), new AbortController().signal);
    await expect(readAll(stream)).resolves.toBe('SETTINGS');
  });

  it('waits for a guest that answers late, and gives up when the client goes', async () => {
    const requests: string[] = [];
    await sockets.listen(
      'agent.sock',
      createServer((socket) => {
        socket.on('data', (chunk: Buffer) => requests.push(chunk.toString('latin1')));
      }),
    );
    const clientGone = new AbortController();
    const dial = dialVirtioSerial(sockets.path('agent.sock'), clientGone.signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(requests).toHaveLength(1);
    clientGone.abort();
    await expect(dial).rejects.toMatchObject({ code: RuntimeErrorCode.AGENT_UNREACHABLE, message: expect.stringContaining('given up') });
  });

  it('fails with AGENT_UNREACHABLE when there is no VM or it closes the connection', async () => {
    await expect(dialVirtioSerial(sockets.path('missing.sock'), new AbortController().signal)).rejects.toMatchObject({
      code: RuntimeErrorCode.AGENT_UNREACHABLE,
    });
    // A QEMU that hangs up at once (its reads drained, so the connection closes).
    await sockets.listen(
      'agent.sock',
      createServer((socket) => socket.resume().end()),
    );
    await expect(dialVirtioSerial(sockets.path('agent.sock'), new AbortController().signal)).rejects.toThrow(/closed the connection/);
  });
});
