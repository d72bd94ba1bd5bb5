import { describe, expect, it } from '@jest/globals';
import type { Deployment, FleetNode, Sandbox } from '@moat/sdk';
import { nodeOf, sandboxOf } from '@moat/sdk/testing';
import { fleetReducer, initialFleetState, listByName, sandboxList, type FleetAction, type FleetState } from './fleet.reducer';

function sandbox(id: string, state: Sandbox['state'], updatedAt: string, createdAt = '2025-01-01T00:00:00.000Z'): Sandbox {
  return sandboxOf({ id, nodeId: 'n1', state, createdAt, updatedAt });
}

function node(id: string, name: string, state: FleetNode['state'], lastHeartbeatAt: string): FleetNode {
  return nodeOf({ id, name, state, lastHeartbeatAt });
}

function deployment(id: string, running: number): Deployment {
  return {
    id,
    name: id,
    tenantId: 't1',
    templateId: 'tpl',
    templateVersion: 1,
    replicas: 2,
    perNode: false,
    nodeSelector: {},
    strategy: { type: 'rolling', maxUnavailable: 1, maxSurge: 1, autoRollback: true },
    state: 'active',
    counts: { desired: 2, running, healthy: running, unhealthy: 0 },
    currentRolloutId: null,
    createdAt: '2025-01-01T00:00:00Z',
  };
}

const run = (actions: FleetAction[], from: FleetState = initialFleetState) => actions.reduce(fleetReducer, from);
const upsertSandbox = (item: Sandbox): FleetAction => ({ type: 'upsert', collection: 'sandboxes', item });

describe('fleetReducer', () => {
  it('loads a snapshot and applies later events', () => {
    const state = run([
      { type: 'sync:started', collections: ['sandboxes'] },
      { type: 'sync:completed', seq: 0, snapshot: { sandboxes: [sandbox('a', 'pending', '2025-01-01T00:00:01Z')] } },
      upsertSandbox(sandbox('a', 'creating', '2025-01-01T00:00:02Z')),
      upsertSandbox(sandbox('a', 'running', '2025-01-01T00:00:03Z')),
    ]);
    expect(state.sandboxes.loaded).toBe(true);
    expect(state.sandboxes.items.a?.state).toBe('running');
    expect(state.sandboxes.pending).toBeNull();
  });

  it('replays events that raced an in-flight snapshot without going back in time', () => {
    const state = run([
      { type: 'sync:started', collections: ['sandboxes'] },
      upsertSandbox(sandbox('a', 'running', '2025-01-01T00:00:05Z')),
      upsertSandbox(sandbox('b', 'creating', '2025-01-01T00:00:05Z')),
      { type: 'remove', collection: 'sandboxes', id: 'b' },
      // The snapshot was read before those events: it still has "a" pending and "b" present.
      {
        type: 'sync:completed',
        seq: 0,
        snapshot: { sandboxes: [sandbox('a', 'pending', '2025-01-01T00:00:01Z'), sandbox('b', 'pending', '2025-01-01T00:00:01Z')] },
      },
    ]);
    expect(state.sandboxes.items.a?.state).toBe('running');
    expect(state.sandboxes.items.b).toBeUndefined();
  });

  it('keeps every racing event until the last overlapping snapshot is in, and never shows an older snapshot', () => {
    const state = run([
      // One snapshot at start, one when the socket connects; events arrive in between.
      { type: 'sync:started', collections: ['sandboxes'] },
      { type: 'sync:started', collections: ['sandboxes'] },
      upsertSandbox(sandbox('a', 'running', '2025-01-01T00:00:05Z')),
      { type: 'sync:completed', seq: 1, snapshot: { sandboxes: [sandbox('a', 'creating', '2025-01-01T00:00:03Z'), sandbox('b', 'running', '2025-01-01T00:00:04Z')] } },
      // The first request answers last, with a list from before "b" existed.
      { type: 'sync:completed', seq: 0, snapshot: { sandboxes: [sandbox('a', 'pending', '2025-01-01T00:00:01Z')] } },
    ]);
    expect(state.sandboxes.items.a?.state).toBe('running');
    expect(state.sandboxes.items.b?.state).toBe('running');
    expect(state.sandboxes.pending).toBeNull();
    expect(state.sandboxes.syncs).toBe(0);
  });

  it('ignores an event older than what is shown', () => {
    const state = run([
      upsertSandbox(sandbox('a', 'running', '2025-01-01T00:00:05Z')),
      upsertSandbox(sandbox('a', 'creating', '2025-01-01T00:00:02Z')),
    ]);
    expect(state.sandboxes.items.a?.state).toBe('running');
  });

  it('keeps one collection loading while another is already live', () => {
    const state = run([
      { type: 'sync:started', collections: ['sandboxes', 'deployments'] },
      { type: 'sync:completed', seq: 0, snapshot: { sandboxes: [] } },
      { type: 'sync:failed', collections: ['deployments'] },
      { type: 'upsert', collection: 'deployments', item: deployment('d', 1) },
    ]);
    expect(state.sandboxes.loaded).toBe(true);
    expect(state.deployments.loaded).toBe(false);
    expect(state.deployments.pending).toBeNull();
    // Events still show, so a page sees the change even when the list failed to load.
    expect(state.deployments.items.d?.counts.running).toBe(1);
  });

  it('takes the latest deployment event as is (no timestamps to compare)', () => {
    const state = run([
      { type: 'upsert', collection: 'deployments', item: deployment('d', 2) },
      { type: 'upsert', collection: 'deployments', item: deployment('d', 1) },
    ]);
    expect(state.deployments.items.d?.counts.running).toBe(1);
  });

  it('lets a node be cordoned without a new heartbeat', () => {
    const at = '2025-01-01T00:00:05Z';
    const state = run([
      { type: 'upsert', collection: 'nodes', item: node('n', 'host', 'ready', at) },
      { type: 'upsert', collection: 'nodes', item: node('n', 'host', 'cordoned', at) },
    ]);
    expect(state.nodes.items.n?.state).toBe('cordoned');
  });
});

describe('lists', () => {
  it('orders sandboxes newest first and nodes by name', () => {
    const state = run([
      {
        type: 'sync:completed',
        seq: 0,
        snapshot: {
          sandboxes: [sandbox('old', 'running', 'x', '2025-01-01T00:00:00Z'), sandbox('new', 'running', 'x', '2025-01-02T00:00:00Z')],
          nodes: [node('2', 'zeta', 'ready', 'x'), node('1', 'alpha', 'ready', 'x')],
        },
      },
    ]);
    expect(sandboxList(state.sandboxes.items).map((s) => s.id)).toEqual(['new', 'old']);
    expect(listByName(state.nodes.items).map((n) => n.name)).toEqual(['alpha', 'zeta']);
  });
});
