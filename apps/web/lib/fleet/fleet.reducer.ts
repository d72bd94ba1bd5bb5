import type { Deployment, FleetNode, Rollout, Sandbox, TemplateSummary, Tenant } from '@moat/sdk';

/** Everything the dashboard keeps live, by collection. */
export interface Collections {
  sandboxes: Sandbox;
  nodes: FleetNode;
  tenants: Tenant;
  deployments: Deployment;
  templates: FleetTemplate;
  rollouts: Rollout;
}

/** A template as the list shows it; a live update says only its name and latest version. */
export type FleetTemplate = Pick<TemplateSummary, 'id' | 'name' | 'latestVersion'> & Partial<Pick<TemplateSummary, 'tenantId' | 'createdAt'>>;

export type CollectionName = keyof Collections;

export interface Collection<T> {
  items: Readonly<Record<string, T>>;
  /** False until the first snapshot arrived. */
  loaded: boolean;
  /** Events received since the oldest in-flight snapshot was requested; null when none is in flight. */
  pending: readonly FleetEvent[] | null;
  /** Snapshots in flight: one at start, racing the socket's connection, and one per (re)connect. */
  syncs: number;
  /** Request order of the snapshot shown; an older one answering late is not shown over it. */
  shown: number;
}

/**
 * What the dashboard knows: REST snapshots kept current by socket.io events.
 *
 * A snapshot is fetched after the socket connects (and again after every reconnect), so no
 * change can fall between the two. Events that arrive while a snapshot is in flight are
 * applied at once and also remembered, then replayed on top of the snapshot, because the
 * snapshot may have been read before them. Replays never move a record back in time.
 */
export type FleetState = { [K in CollectionName]: Collection<Collections[K]> };

export type FleetEvent =
  { [K in CollectionName]: { type: 'upsert'; collection: K; item: Collections[K] } }[CollectionName]
  | { type: 'remove'; collection: CollectionName; id: string };

export type Snapshot = { [K in CollectionName]?: Collections[K][] };

export type FleetAction =
  | FleetEvent
  | { type: 'sync:started'; collections: readonly CollectionName[] }
  /** `seq` numbers the requests in the order they were made. */
  | { type: 'sync:completed'; snapshot: Snapshot; seq: number }
  | { type: 'sync:failed'; collections: readonly CollectionName[] };

const empty = { items: {}, loaded: false, pending: null, syncs: 0, shown: -1 };

export const initialFleetState: FleetState = {
  sandboxes: empty,
  nodes: empty,
  tenants: empty,
  deployments: empty,
  templates: empty,
  rollouts: empty,
};

export const COLLECTIONS: readonly CollectionName[] = ['sandboxes', 'nodes', 'tenants', 'deployments', 'templates', 'rollouts'];

export function fleetReducer(state: FleetState, action: FleetAction): FleetState {
  switch (action.type) {
    case 'sync:started':
      return mapCollections(state, action.collections, (c) => ({ ...c, syncs: c.syncs + 1, pending: c.pending ?? [] }));
    case 'sync:failed':
      return mapCollections(state, action.collections, settle);
    case 'sync:completed': {
      let next = state;
      for (const name of COLLECTIONS) {
        const items = action.snapshot[name];
        if (!items) continue;
        const { pending, shown } = next[name];
        if (action.seq < shown) {
          next = { ...next, [name]: settle(next[name]) };
          continue;
        }
        next = {
          ...next,
          [name]: { ...next[name], items: byId(items as readonly { id: string }[]), loaded: true, shown: action.seq },
        };
        // Every event since the oldest snapshot in flight was requested: this one may predate them.
        next = (pending ?? []).reduce(applyEvent, next);
        next = { ...next, [name]: settle(next[name]) };
      }
      return next;
    }
    case 'upsert':
    case 'remove': {
      const next = applyEvent(state, action);
      const collection = next[action.collection];
      if (!collection.pending) return next;
      return { ...next, [action.collection]: { ...collection, pending: [...collection.pending, action] } };
    }
  }
}

/** One snapshot fewer in flight; the remembered events go once none is. */
function settle<C extends Collection<unknown>>(c: C): C {
  const syncs = Math.max(0, c.syncs - 1);
  return { ...c, syncs, pending: syncs > 0 ? c.pending : null };
}

function mapCollections(
  state: FleetState,
  names: readonly CollectionName[],
  fn: (c: Collection<unknown>) => Collection<unknown>,
): FleetState {
  let next = state;
  for (const name of names) next = { ...next, [name]: fn(next[name]) };
  return next;
}

/** The time a record was last changed, where its representation carries one. */
function versionOf(event: Extract<FleetEvent, { type: 'upsert' }>): string | null {
  switch (event.collection) {
    case 'sandboxes':
      return event.item.updatedAt;
    case 'nodes':
      return event.item.lastHeartbeatAt;
    case 'tenants':
    case 'deployments':
    case 'templates':
    case 'rollouts':
      return null;
  }
}

function applyEvent(state: FleetState, event: FleetEvent): FleetState {
  const collection = state[event.collection];
  if (event.type === 'remove') {
    if (!(event.id in collection.items)) return state;
    const { [event.id]: _removed, ...rest } = collection.items;
    return { ...state, [event.collection]: { ...collection, items: rest } };
  }
  const current = collection.items[event.item.id] as Collections[CollectionName] | undefined;
  const version = versionOf(event);
  if (current && version !== null) {
    const currentVersion = versionOf({ ...event, item: current } as typeof event);
    if (currentVersion !== null && Date.parse(version) < Date.parse(currentVersion)) return state;
  }
  return { ...state, [event.collection]: { ...collection, items: { ...collection.items, [event.item.id]: event.item } } };
}

function byId<T extends { id: string }>(items: readonly T[]): Record<string, T> {
  return Object.fromEntries(items.map((item) => [item.id, item]));
}

/** Newest first, so a sandbox just created shows at the top. */
export function sandboxList(sandboxes: Readonly<Record<string, Sandbox>>): Sandbox[] {
  return Object.values(sandboxes).sort(
    (a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || a.id.localeCompare(b.id),
  );
}

/** Alphabetical, for the collections people name (nodes, tenants, templates, deployments). */
export function listByName<T extends { name: string }>(items: Readonly<Record<string, T>>): T[] {
  return Object.values(items).sort((a, b) => a.name.localeCompare(b.name));
}
