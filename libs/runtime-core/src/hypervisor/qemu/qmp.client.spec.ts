import { renameSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { RuntimeErrorCode } from '../../errors/runtime.errors';
import { unixSocketServers } from '../../testing/unix-socket-servers';
import { QmpClient } from './qmp.client';

type Handler = (command: { execute: string; id?: string }, socket: Socket) => void;

/** Speaks just enough QMP: greeting, then one JSON object per line. */
function fakeQmp(handler: Handler, greet = true): Server {
  const server = createServer((socket) => {
    if (greet) socket.write(`${JSON.stringify({ QMP: { version: {}, capabilities: [] } })}\r\n`);
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        handler(JSON.parse(line) as { execute: string; id?: string }, socket);
      }
    });
  });
  return server;
}

const reply = (socket: Socket, id: string | undefined, value: unknown) => socket.write(`${JSON.stringify({ return: value, id })}\r\n`);

describe('QmpClient', () => {
  const sockets = unixSocketServers('qmp-');

  it('negotiates capabilities, then queries the status, ignoring interleaved events', async () => {
    const seen: string[] = [];
    await sockets.listen('q.sock', fakeQmp((cmd, socket) => {
      seen.push(cmd.execute);
      if (cmd.execute === 'query-status') socket.write(`${JSON.stringify({ event: 'RESUME', data: {} })}\r\n`);
      reply(socket, cmd.id, cmd.execute === 'query-status' ? { status: 'running', running: true, singlestep: false } : {});
    }));
    const qmp = await QmpClient.connect(sockets.path('q.sock'), 1000);
    await expect(qmp.queryStatus(1000)).resolves.toEqual({ status: 'running', running: true });
    expect(seen).toEqual(['qmp_capabilities', 'query-status']);
    qmp.close();
  });

  it('sends a command with a descriptor attached on a connection made for it, and only there', async () => {
    const seen: { execute: string; arguments?: unknown }[] = [];
    await sockets.listen('q.sock', fakeQmp((cmd, socket) => {
      seen.push(cmd);
      reply(socket, cmd.id, {});
    }));
    const passing = await QmpClient.connectPassingFds(sockets.path('q.sock'), 1000);
    // The descriptor's arrival is what QEMU checks (the warm-pool integration test's NIC); here, the command and its reply.
    await expect(passing.executeWithDescriptor('getfd', { fdname: 'nic0' }, 0, 1000)).resolves.toEqual({});
    await expect(passing.execute('query-status', undefined, 1000)).resolves.toEqual({});
    expect(seen.map((cmd) => cmd.execute)).toEqual(['qmp_capabilities', 'getfd', 'query-status']);
    expect(seen[1].arguments).toEqual({ fdname: 'nic0' });
    passing.close();
    const plain = await QmpClient.connect(sockets.path('q.sock'), 1000);
    await expect(plain.executeWithDescriptor('getfd', { fdname: 'nic0' }, 0, 1000)).rejects.toMatchObject({ code: RuntimeErrorCode.QMP_FAILED });
    plain.close();
  });

  it('names the socket a descriptor-passing connection could not reach', async () => {
    await expect(QmpClient.connectPassingFds(sockets.path('missing.sock'), 1000)).rejects.toMatchObject({
      code: RuntimeErrorCode.QMP_FAILED,
      message: expect.stringContaining('missing.sock'),
    });
  });

  it('treats QEMU closing the socket on quit as success', async () => {
    await sockets.listen('q.sock', fakeQmp((cmd, socket) => {
      if (cmd.execute === 'quit') socket.destroy();
      else reply(socket, cmd.id, {});
    }));
    const qmp = await QmpClient.connect(sockets.path('q.sock'), 1000);
    await expect(qmp.quit(1000)).resolves.toBeUndefined();
  });

  it('tries a refused connection again until QEMU listens (it binds its socket a moment before)', async () => {
    const path = sockets.path('q.sock');
    // A socket file nobody listens on, as QEMU's is between its bind and its listen.
    const stale = createServer();
    await new Promise<void>((resolve) => stale.listen(`${path}.tmp`, resolve));
    renameSync(`${path}.tmp`, path);
    await new Promise((resolve) => stale.close(resolve));
    await expect(QmpClient.connect(path, 100)).rejects.toMatchObject({ code: RuntimeErrorCode.QMP_FAILED });
    setTimeout(() => {
      rmSync(path);
      void sockets.listen('q.sock', fakeQmp((cmd, socket) => reply(socket, cmd.id, {})));
    }, 100);
    const qmp = await QmpClient.connect(path, 2000);
    qmp.close();
  });

  it('times out when QEMU never greets', async () => {
    await sockets.listen('q.sock', fakeQmp(() => undefined, false));
    await expect(QmpClient.connect(sockets.path('q.sock'), 200)).rejects.toMatchObject({ code: RuntimeErrorCode.QMP_FAILED, message: expect.stringContaining('timed out') });
  });

  it('times out a command that gets no reply', async () => {
    await sockets.listen('q.sock', fakeQmp((cmd, socket) => {
      if (cmd.execute === 'qmp_capabilities') reply(socket, cmd.id, {});
    }));
    const qmp = await QmpClient.connect(sockets.path('q.sock'), 1000);
    await expect(qmp.queryStatus(200)).rejects.toThrow(/query-status timed out/);
    qmp.close();
  });

  it('surfaces QMP errors with their class', async () => {
    await sockets.listen('q.sock', fakeQmp((cmd, socket) => {
      if (cmd.execute === 'qmp_capabilities') reply(socket, cmd.id, {});
      else socket.write(`${JSON.stringify({ error: { class: 'CommandNotFound', desc: 'nope' }, id: cmd.id })}\r\n`);
    }));
    const qmp = await QmpClient.connect(sockets.path('q.sock'), 1000);
    await expect(qmp.execute('bogus', undefined, 1000)).rejects.toThrow('QMP error CommandNotFound: nope');
    qmp.close();
  });

  it('fails when nothing listens', async () => {
    await expect(QmpClient.connect(sockets.path('missing.sock'), 500)).rejects.toMatchObject({ code: RuntimeErrorCode.QMP_FAILED });
  });
});
