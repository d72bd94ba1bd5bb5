import { createServer, type Server } from 'node:net';

/** How many sockets listen on the API port together (see listenOnSharedPort). */
export const LISTENING_SOCKETS = 4;

/**
 * Listens on `host:port` with `sockets` listening sockets sharing the port (SO_REUSEPORT),
 * every one of them serving `server`; resolves with the port (the one chosen when `port` is 0).
 *
 * libuv accepts one connection per listening socket per turn of the event loop (libuv#3696).
 * While a fleet of agents connects, hundreds of connections wait in one socket's accept queue,
 * and a request on a new connection (a `curl`, a load balancer's health check) waits until
 * every one before it was accepted, a turn each: seconds. The kernel spreads new connections
 * over the sockets, and each turn accepts one on every socket.
 */
export async function listenOnSharedPort(server: Server, port: number, host: string, sockets = LISTENING_SOCKETS): Promise<number> {
  await listen(server, port, host);
  const { port: chosen } = server.address() as { port: number };
  const acceptors = Array.from({ length: sockets - 1 }, () => createServer((socket) => server.emit('connection', socket)));
  server.once('close', () => acceptors.forEach((acceptor) => acceptor.close()));
  await Promise.all(acceptors.map((acceptor) => listen(acceptor, chosen, host)));
  return chosen;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, reusePort: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
