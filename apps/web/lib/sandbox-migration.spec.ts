import { describe, expect, it } from '@jest/globals';
import { nodeOf, sandboxOf } from '@moat/sdk/testing';
import { failedMigration, migrationProgress, migrationTargets } from './sandbox-migration';

describe('migrationTargets', () => {
  it('offers the ready nodes other than its own, by name, with their free room', () => {
    const nodes = [
      nodeOf({ id: 'n-own', name: 'alpha' }),
      nodeOf({ id: 'n-c', name: 'charlie', allocated: { vcpus: 1, memoryMiB: 1024 } }),
      nodeOf({ id: 'n-b', name: 'bravo', allocatable: { vcpus: 8, memoryMiB: 16384 } }),
      nodeOf({ id: 'n-d', name: 'delta', state: 'cordoned' }),
      nodeOf({ id: 'n-e', name: 'echo', state: 'draining' }),
      nodeOf({ id: 'n-f', name: 'foxtrot', state: 'down' }),
    ];
    expect(migrationTargets({ nodeId: 'n-own' }, nodes)).toEqual([
      { id: 'n-b', label: 'bravo (8 vCPUs, 16 GiB free)' },
      { id: 'n-c', label: 'charlie (1 vCPU, 3 GiB free)' },
    ]);
  });

  it('offers none when the nodes are not known (a tenant cannot list them)', () => {
    expect(migrationTargets({ nodeId: 'n-own' }, [])).toEqual([]);
  });
});

describe('migrationProgress', () => {
  const at = '2026-12-06T00:00:00.000Z';

  it('is null unless the sandbox is migrating', () => {
    expect(migrationProgress(sandboxOf({ state: 'running' }))).toBeNull();
    expect(migrationProgress(sandboxOf({ state: 'waking' }))).toBeNull();
  });

  it("tells the migrating event's reason and the copy's progress when there are", () => {
    const events = [{ at, state: 'migrating' as const, reason: { code: 'MIGRATING', message: 'moving live to node node-2' } }];
    expect(migrationProgress(sandboxOf({ state: 'migrating', events, progress: { phase: 'pull', bytesDone: 10, bytesTotal: 40 } }))).toEqual({
      note: 'moving live to node node-2',
      copied: { bytesDone: 10, bytesTotal: 40 },
    });
    expect(migrationProgress(sandboxOf({ state: 'migrating', events: [{ at, state: 'migrating' }] }))).toEqual({ note: null, copied: null });
  });
});

describe('failedMigration', () => {
  const at = '2026-12-06T00:00:00.000Z';
  const failed = { at, state: 'running' as const, reason: { code: 'MIGRATION_FAILED', message: 'the target did not answer' } };

  it('is the latest event when that says MIGRATION_FAILED', () => {
    expect(failedMigration(sandboxOf({ state: 'running', events: [{ at, state: 'migrating' }, failed] }))).toEqual({ message: 'the target did not answer' });
  });

  it('is null once something else happened since, or when it never failed', () => {
    expect(failedMigration(sandboxOf({ events: [failed, { at, state: 'hibernating' }] }))).toBeNull();
    expect(failedMigration(sandboxOf({ events: [{ at, state: 'running', reason: { code: 'MOVE_FAILED', message: 'x' } }] }))).toBeNull();
  });
});
