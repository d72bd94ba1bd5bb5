import { Agent, request } from 'node:http';

export interface Reply {
  status: number;
  contentType: string;
  text: string;
}

/** No route may take longer than this to answer, whatever it is sent. */
const ANSWER_TIMEOUT_MS = 30_000;

/**
 * Sends requests byte for byte as given (node:http, not fetch, which would normalise the path
 * and refuse odd bodies), over a few kept-alive connections.
 */
export class RawClient {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(baseUrl: string, connections: number) {
    this.url = new URL(baseUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets: connections });
  }

  async send(method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<Reply> {
    try {
      return await this.once(method, path, headers, body);
    } catch (err) {
      // A kept-alive connection the server closed just as it was reused; a second refusal counts.
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
      return this.once(method, path, headers, body);
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private once(method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const outgoing = request(
        {
          host: this.url.hostname,
          port: this.url.port,
          method,
          path,
          agent: this.agent,
          headers: body ? { ...headers, 'content-length': String(body.length) } : headers,
          timeout: ANSWER_TIMEOUT_MS,
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('error', reject);
          incoming.on('end', () =>
            resolve({
              status: incoming.statusCode ?? 0,
              contentType: incoming.headers['content-type'] ?? '',
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS / 1000} s`)));
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }
}
