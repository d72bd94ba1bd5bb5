import { Agent, request } from 'node:http';

/**
 * JSON over HTTP through a pool of at most `connections` connections. Kept alive, each is
 * reused request after request, as an API client library would hold them (fetch's pool opens
 * new connections under a steady stream of requests, and requests on them reached a busy
 * control plane up to a second late: a benchmark would measure that rather than the API).
 * Not kept alive, every request has a connection of its own, as a one-off `curl` would.
 */
export class JsonClient {
  private readonly agent: Agent;

  constructor(
    private readonly baseUrl: string,
    { connections, keepAlive }: { connections: number; keepAlive: boolean },
  ) {
    this.agent = new Agent({ keepAlive, maxSockets: connections, maxFreeSockets: connections });
  }

  /** Sends `body` (JSON) if given; resolves with the status and the parsed JSON reply. */
  send<T>(method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<{ status: number; json: T }> {
    const sized = body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {};
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.baseUrl),
        { method, agent: this.agent, headers: { ...headers, ...sized } },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (part: Buffer) => parts.push(part));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8');
            try {
              resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as T });
            } catch {
              reject(new Error(`${method} ${path}: ${res.statusCode} with a reply that is not JSON: ${text.slice(0, 200)}`));
            }
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
