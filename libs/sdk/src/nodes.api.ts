import type { DrainNodeRequest, FleetNode, MoatApi } from './api.types';
import { bodyOf } from './body-of';
import { liveMigrationRoutes } from './live-migration.routes';

/** `moat.nodes` (admin token): list, get, cordon, uncordon and drain the fleet's nodes. */
export class NodesApi {
  constructor(private readonly api: MoatApi) {}

  list(): Promise<FleetNode[]> {
    return bodyOf(this.api.GET('/v1/nodes'));
  }

  /** One node; a MoatApiError `NOT_FOUND` (404) when there is none. */
  get(id: string): Promise<FleetNode> {
    return bodyOf(this.api.GET('/v1/nodes/{id}', { params: { path: { id } } }));
  }

  /** No new sandboxes are placed on it; those it runs keep running. */
  cordon(id: string): Promise<FleetNode> {
    return bodyOf(this.api.POST('/v1/nodes/{id}/cordon', { params: { path: { id } } }));
  }

  /** The scheduler may place sandboxes on it again. */
  uncordon(id: string): Promise<FleetNode> {
    return bodyOf(this.api.POST('/v1/nodes/{id}/uncordon', { params: { path: { id } } }));
  }

  /**
   * Cordons the node and empties it (`draining`): with `mode: "replace"` (the default)
   * deployment replicas are recreated elsewhere and other sandboxes keep running; with
   * `mode: "migrate"` running sandboxes move live to other nodes, each with a `DRAIN_MIGRATED`
   * event, or `DRAIN_FALLBACK` where it could not move and was handled as `replace` does.
   */
  drain(id: string, request: DrainNodeRequest = {}): Promise<FleetNode> {
    // Without a mode the request is the one drain has always been: no body.
    const body = request.mode ? { body: { mode: request.mode } } : {};
    return bodyOf(liveMigrationRoutes(this.api).POST('/v1/nodes/{id}/drain', { params: { path: { id } }, ...body }));
  }
}
