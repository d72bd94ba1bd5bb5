import { describe, expect, it } from 'vitest';
import type { FleetNode, Sandbox } from '../types';
import { fleetReducer, initialFleetState, nodeList, sandboxList, type FleetAction, type FleetState } from './fleet.reducer';

function sandbox(id: string, state: Sandbox['state'], updatedAt: string, createdAt = '2025-01-01T00:00:00.000Z'): Sandbox {
  return {
    id,
    tenantId: 't1',
    nodeId: 'n1',
    state,
    vcpus: 1,
    memoryMiB: 256,
    env: {},
    labels: {},
    createdAt,
    updatedAt,
    timings: [],
  };
}

function node(id: string, name: string, state: FleetNode['state'], lastHeartbeatAt: string): FleetNode {
  return {
    id,
    name,
    state,
    capacity: { vcpus: 2, memoryMiB: 4096 },
    allocated: { vcpus: 0, memoryMiB: 0 },
    accel: 'tcg',
    hypervisors: ['qemu'],
    lastHeartbeatAt,
  };
}

const run = (actions: FleetAction[], from: FleetState = initialFleetState) => actions.reduce(fleetReducer, from);

describe('fleetReducer', () => {
  it('loads a snapshot and applies later events', () => {
    const state = run([
      { type: 'sync:started' },
      { type: 'sync:completed', sandboxes: [sandbox('a', 'pending', '2025-01-01T00:00:01Z')], nodes: [] },
      { type: 'sandbox:updated', sandbox: sandbox('a', 'creating', '2025-01-01T00:00:02Z') },
      { type: 'sandbox:updated', sandbox: sandbox('a', 'running', '2025-01-01T00:00:03Z') },
    ]);
    expect(state.loaded).toBe(true);
    expect(state.sandboxes.a?.state).toBe('running');
    expect(state.pendingEvents).toBeNull();
  });

  it('replays events that raced an in-flight snapshot without going back in time', () => {
    const state = run([
      { type: 'sync:started' },
      { type: 'sandbox:updated', sandbox: sandbox('a', 'running', '2025-01-01T00:00:03Z') },
      { type: 'sandbox:updated', sandbox: sandbox('b', 'pending', '2025-01-01T00:00:04Z') },
      { type: 'sandbox:deleted', id: 'c' },
      // The snapshot was read before all three events.
      {
        type: 'sync:completed',
        sandboxes: [sandbox('a', 'creating', '2025-01-01T00:00:02Z'), sandbox('c', 'stopping', '2025-01-01T00:00:02Z')],
        nodes: null,
      },
    ]);
    expect(Object.keys(state.sandboxes).sort()).toEqual(['a', 'b']);
    expect(state.sandboxes.a?.state).toBe('running');
  });

  it('keeps a snapshot that is newer than a raced event', () => {
    const state = run([
      { type: 'sync:started' },
      { type: 'sandbox:updated', sandbox: sandbox('a', 'creating', '2025-01-01T00:00:02Z') },
      { type: 'sync:completed', sandboxes: [sandbox('a', 'running', '2025-01-01T00:00:03Z')], nodes: null },
    ]);
    expect(state.sandboxes.a?.state).toBe('running');
  });

  it('drops sandboxes a resync no longer reports', () => {
    const before = run([{ type: 'sync:completed', sandboxes: [sandbox('a', 'running', '2025-01-01T00:00:01Z')], nodes: [] }]);
    const after = run([{ type: 'sync:started' }, { type: 'sync:completed', sandboxes: [], nodes: [] }], before);
    expect(sandboxList(after)).toEqual([]);
  });

  it('updates nodes and ignores stale node reports', () => {
    const state = run([
      { type: 'sync:completed', sandboxes: [], nodes: [node('n1', 'host-b', 'ready', '2025-01-01T00:00:05Z')] },
      { type: 'node:updated', node: node('n1', 'host-b', 'down', '2025-01-01T00:00:04Z') },
      { type: 'node:updated', node: node('n2', 'host-a', 'cordoned', '2025-01-01T00:00:06Z') },
    ]);
    expect(nodeList(state).map((n) => `${n.name}:${n.state}`)).toEqual(['host-a:cordoned', 'host-b:ready']);
  });

  it('lists sandboxes newest first', () => {
    const state = run([
      {
        type: 'sync:completed',
        sandboxes: [
          sandbox('old', 'running', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00.000Z'),
          sandbox('new', 'pending', '2025-01-02T00:00:00Z', '2025-01-02T00:00:00.000Z'),
        ],
        nodes: null,
      },
    ]);
    expect(sandboxList(state).map((s) => s.id)).toEqual(['new', 'old']);
  });
});
