import type { FleetNode, Sandbox } from '../types';

/**
 * What the dashboard knows about the fleet: a REST snapshot kept current by socket.io events.
 *
 * The snapshot is fetched after the socket connects (and again after every reconnect), so no
 * change can fall between the two. Events that arrive while a snapshot is in flight are
 * applied at once and also remembered, then replayed on top of the snapshot, because the
 * snapshot may have been read before them. Replays never move a record back in time.
 */
export interface FleetState {
  sandboxes: Readonly<Record<string, Sandbox>>;
  nodes: Readonly<Record<string, FleetNode>>;
  /** False until the first snapshot arrived. */
  loaded: boolean;
  /** Events received since the in-flight snapshot was requested; null when none is in flight. */
  pendingEvents: readonly FleetEvent[] | null;
}

export type FleetEvent =
  | { type: 'sandbox:updated'; sandbox: Sandbox }
  | { type: 'sandbox:deleted'; id: string }
  | { type: 'node:updated'; node: FleetNode };

export type FleetAction =
  | FleetEvent
  | { type: 'sync:started' }
  /** `nodes` is null for tenants, who may not list nodes. */
  | { type: 'sync:completed'; sandboxes: Sandbox[]; nodes: FleetNode[] | null }
  | { type: 'sync:failed' };

export const initialFleetState: FleetState = { sandboxes: {}, nodes: {}, loaded: false, pendingEvents: null };

export function fleetReducer(state: FleetState, action: FleetAction): FleetState {
  switch (action.type) {
    case 'sync:started':
      return { ...state, pendingEvents: [] };
    case 'sync:failed':
      return { ...state, pendingEvents: null };
    case 'sync:completed': {
      const snapshot: FleetState = {
        sandboxes: byId(action.sandboxes),
        nodes: action.nodes ? byId(action.nodes) : {},
        loaded: true,
        pendingEvents: null,
      };
      return (state.pendingEvents ?? []).reduce(applyEvent, snapshot);
    }
    case 'sandbox:updated':
    case 'sandbox:deleted':
    case 'node:updated': {
      const next = applyEvent(state, action);
      return state.pendingEvents ? { ...next, pendingEvents: [...state.pendingEvents, action] } : next;
    }
  }
}

function applyEvent(state: FleetState, event: FleetEvent): FleetState {
  switch (event.type) {
    case 'sandbox:updated': {
      const current = state.sandboxes[event.sandbox.id];
      if (current && isOlder(event.sandbox.updatedAt, current.updatedAt)) return state;
      return { ...state, sandboxes: { ...state.sandboxes, [event.sandbox.id]: event.sandbox } };
    }
    case 'sandbox:deleted': {
      if (!(event.id in state.sandboxes)) return state;
      const { [event.id]: _deleted, ...rest } = state.sandboxes;
      return { ...state, sandboxes: rest };
    }
    case 'node:updated': {
      const current = state.nodes[event.node.id];
      if (current && isOlder(event.node.lastHeartbeatAt, current.lastHeartbeatAt)) return state;
      return { ...state, nodes: { ...state.nodes, [event.node.id]: event.node } };
    }
  }
}

function isOlder(candidate: string, current: string): boolean {
  return Date.parse(candidate) < Date.parse(current);
}

function byId<T extends { id: string }>(items: T[]): Record<string, T> {
  return Object.fromEntries(items.map((item) => [item.id, item]));
}

/** Newest first, so a sandbox just created shows at the top. */
export function sandboxList(state: FleetState): Sandbox[] {
  return Object.values(state.sandboxes).sort(
    (a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || a.id.localeCompare(b.id),
  );
}

export function nodeList(state: FleetState): FleetNode[] {
  return Object.values(state.nodes).sort((a, b) => a.name.localeCompare(b.name));
}
