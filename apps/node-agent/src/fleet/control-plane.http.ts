import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  status: number;
  text: string;
}

/** POSTs a JSON body to the control plane (the join): the adapter tests replace. */
export type PostJson = (url: URL, body: string) => Promise<HttpAnswer>;

const TIMEOUT_MS = 30_000;

/**
 * The control plane's REST client, over node:http(s) rather than fetch because the built-in
 * fetch takes no CA of its own: `ca` (PEM) replaces the system store for this request only,
 * so registries and everything else keep verifying against the system's authorities.
 */
export function controlPlanePost(ca: string | undefined): PostJson {
  return (url, body) =>
    new Promise((resolve, reject) => {
      const options = {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: TIMEOUT_MS,
      };
      const req =
        url.protocol === 'https:' ? httpsRequest(url, { ...options, ...(ca !== undefined && { ca }) }) : httpRequest(url, options);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.end(body);
    });
}
