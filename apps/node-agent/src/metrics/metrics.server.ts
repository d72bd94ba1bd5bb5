import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/**
 * Serves `GET /metrics` for Prometheus on `addr` (`host:port`). A node runs without metrics
 * rather than not at all when the address is taken (another agent on the same host, say).
 */
export async function serveMetrics(registry: Registry, addr: { host: string; port: number }, log: Logger): Promise<Server | undefined> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        log.error({ err }, 'rendering metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
      },
    );
  });
  try {
    await new Promise<void>((listening, failed) => {
      server.once('error', failed);
      server.listen(addr.port, addr.host, () => listening());
    });
  } catch (err) {
    log.warn({ err, host: addr.host, port: addr.port }, 'metrics endpoint not served: its address is not available');
    return undefined;
  }
  log.info({ url: `http://${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}/metrics` }, 'serving metrics');
  return server;
}
