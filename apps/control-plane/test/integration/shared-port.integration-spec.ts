import { describe, expect, it } from '@jest/globals';
import { createServer as createHttpServer, get, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { listenOnSharedPort } from '../../src/common/shared-port.listener';

/** GET / on a connection of its own; resolves with the body. */
function fetchOnce(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (part: Buffer) => (body += part.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}

/** Whether a plain listener (no SO_REUSEPORT) can take the port: nothing else holds it. */
function portIsFree(port: number): Promise<boolean> {
  const probe = createNetServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

describe('listenOnSharedPort', () => {
  it('serves every connection through the sockets sharing the port, and frees the port on close', async () => {
    const server = createHttpServer((_req, res) => res.end('ok'));
    const port = await listenOnSharedPort(server, 0, '127.0.0.1', 4);
    expect(port).toBeGreaterThan(0);

    // Many connections at once: the kernel spreads them over the four sockets.
    const bodies = await Promise.all(Array.from({ length: 64 }, () => fetchOnce(port)));
    expect(bodies).toEqual(Array.from({ length: 64 }, () => 'ok'));

    expect(await portIsFree(port)).toBe(false);
    await close(server);
    // The other sockets close with the server: a plain listener could not bind beside any of them.
    await new Promise((resolve) => setImmediate(resolve));
    expect(await portIsFree(port)).toBe(true);
  });

  it('fails like listen when the port is taken by a listener that does not share it', async () => {
    const holder = createNetServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    try {
      await expect(listenOnSharedPort(createHttpServer(), port, '127.0.0.1')).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      holder.close();
    }
  });
});
