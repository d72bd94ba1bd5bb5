import type { CreateSandboxRequest, ListSandboxesQuery, MigrateSandboxRequest, MoatApi, Sandbox } from './api.types';
import type { AttachEndpoint } from './attach.socket';
import { bodyOf } from './body-of';
import { liveMigrationRoutes } from './live-migration.routes';
import { MoatSandbox } from './sandbox.handle';

/** `moat.sandboxes`: create, list, get, hibernate, wake, fork, migrate and delete sandboxes. */
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

  /**
   * Asks the sandbox's node to save its VM (memory, processes, files; a `rootfs: "block"` one
   * only) and release it; resolves with the sandbox as accepted, `hibernated` later.
   */
  hibernate(id: string): Promise<Sandbox> {
    return bodyOf(this.api.POST('/v1/sandboxes/{id}/hibernate', { params: { path: { id } } }));
  }

  /** Asks the node to run a hibernated sandbox again where it was; resolves as accepted, `running` later. */
  wake(id: string): Promise<Sandbox> {
    return bodyOf(this.api.POST('/v1/sandboxes/{id}/wake', { params: { path: { id } } }));
  }

  /** Forks a running `rootfs: "block"` sandbox into `count` clones (1–16) on its node, each starting with its memory, processes and files. */
  async fork(id: string, count = 1): Promise<MoatSandbox[]> {
    const clones = await bodyOf(this.api.POST('/v1/sandboxes/{id}/fork', { params: { path: { id } }, body: { count } }));
    return clones.map((clone) => this.handle(clone));
  }

  /**
   * Moves a running `rootfs: "block"` sandbox live to another node, `nodeId` or one the
   * scheduler picks; it keeps running meanwhile. Resolves with it as accepted (`migrating`);
   * later it is `running` on the new node, or `running` on its old one again with an event saying
   * MIGRATION_FAILED. 409 SANDBOX_NOT_RUNNING, MIGRATION_UNSUPPORTED (not a block rootfs) or
   * INSUFFICIENT_RESOURCES; 404 or 409 for a `nodeId` it cannot go to.
   */
  migrate(id: string, request: MigrateSandboxRequest = {}): Promise<Sandbox> {
    return bodyOf(liveMigrationRoutes(this.api).POST('/v1/sandboxes/{id}/migrate', { params: { path: { id } }, body: request }));
  }

  private handle(sandbox: Sandbox): MoatSandbox {
    return new MoatSandbox(this.api, sandbox, this.endpoint);
  }
}
