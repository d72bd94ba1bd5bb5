import createClient from 'openapi-fetch';
import type { MoatApi } from './api.types';
import type { paths } from './generated/api';
import { NodesApi } from './nodes.api';
import { SandboxesApi } from './sandboxes.api';

export interface MoatOptions {
  /** The control plane's base URL, e.g. `https://moat.example.com:8080`. */
  apiUrl: string;
  /** A tenant API key, or the admin token. */
  token: string;
  /** The fetch to send requests with (default: the global one). */
  fetch?: (request: Request) => Promise<Response>;
}

/**
 * A client of one Moat control plane with one token.
 *
 * ```ts
 * const moat = new Moat({ apiUrl: 'http://127.0.0.1:8080', token: process.env.MOAT_TOKEN! });
 * const sandbox = await moat.sandboxes.create({ image: 'docker.io/library/alpine:3' });
 * await sandbox.waitUntil('running');
 * const { exitCode, stdout } = await sandbox.exec(['uname', '-r']);
 * ```
 */
export class Moat {
  /**
   * The client generated from the OpenAPI document, typed route by route, for everything the
   * helpers do not cover: `moat.api.GET('/v1/nodes')`. It resolves to `{ data, error, response }`
   * and throws nothing on error statuses; `bodyOf(moat.api.GET('/v1/nodes'))` does.
   */
  readonly api: MoatApi;
  readonly sandboxes: SandboxesApi;
  /** The fleet's nodes (admin token). */
  readonly nodes: NodesApi;

  constructor({ apiUrl, token, fetch }: MoatOptions) {
    this.api = createClient<paths>({
      baseUrl: apiUrl.replace(/\/+$/, ''),
      headers: { Authorization: `Bearer ${token}` },
      ...(fetch && { fetch }),
    });
    this.sandboxes = new SandboxesApi(this.api, { apiUrl, token });
    this.nodes = new NodesApi(this.api);
  }
}
