import type { DrainNodeRequest, FleetNode, MigrateSandboxRequest, MoatApi, Sandbox } from './api.types';
import type { Answer } from './body-of';

/**
 * The requests live migration adds, typed by hand: the generated client is typed from the
 * control plane's OpenAPI document, which may predate them (no migrate route, a drain without a
 * body). They go through the same client (its base URL, token and fetch) and answer as it does.
 */
interface LiveMigrationRoutes {
  POST(path: '/v1/sandboxes/{id}/migrate', init: { params: { path: { id: string } }; body: MigrateSandboxRequest }): Promise<Answer<Sandbox>>;
  POST(path: '/v1/nodes/{id}/drain', init: { params: { path: { id: string } }; body?: DrainNodeRequest }): Promise<Answer<FleetNode>>;
}

/** `api`, for the live-migration requests. */
export function liveMigrationRoutes(api: MoatApi): LiveMigrationRoutes {
  // Whether the generated client already fits these signatures depends on the document it was
  // generated from: seen as a plain object, it is asserted to fit with either.
  const client: object = api;
  return client as LiveMigrationRoutes;
}
