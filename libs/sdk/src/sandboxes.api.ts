import type { CreateSandboxRequest, ListSandboxesQuery, MoatApi, Sandbox } from './api.types';
import type { AttachEndpoint } from './attach.socket';
import { bodyOf } from './body-of';
import { MoatSandbox } from './sandbox.handle';

/** `moat.sandboxes`: create, list, get and delete sandboxes. */
export class SandboxesApi {
  constructor(
    private readonly api: MoatApi,
    private readonly endpoint: AttachEndpoint,
  ) {}

  /**
   * Creates a sandbox; it is `pending` until a node takes it (see `MoatSandbox.waitUntil`).
   * With the admin token, `tenantId` says for whom.
   */
  async create(request: CreateSandboxRequest = {}): Promise<MoatSandbox> {
    return this.handle(await bodyOf(this.api.POST('/v1/sandboxes', { body: request })));
  }

  /** The sandboxes the token may see (a tenant its own, the admin all), filtered by `query`. */
  async list(query: ListSandboxesQuery = {}): Promise<MoatSandbox[]> {
    const sandboxes = await bodyOf(this.api.GET('/v1/sandboxes', { params: { query } }));
    return sandboxes.map((sandbox) => this.handle(sandbox));
  }

  /** One sandbox; a MoatApiError `NOT_FOUND` (404) when there is none the token may see. */
  async get(id: string): Promise<MoatSandbox> {
    return this.handle(await bodyOf(this.api.GET('/v1/sandboxes/{id}', { params: { path: { id } } })));
  }

  /** Asks for a sandbox's deletion; resolves with it as accepted (`stopping`), gone later. */
  delete(id: string): Promise<Sandbox> {
    return bodyOf(this.api.DELETE('/v1/sandboxes/{id}', { params: { path: { id } } }));
  }

  private handle(sandbox: Sandbox): MoatSandbox {
    return new MoatSandbox(this.api, sandbox, this.endpoint);
  }
}
