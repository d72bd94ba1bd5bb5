import { describe, expect, it } from '@jest/globals';
import type { SandboxEntity } from '../model/sandbox.entity';
import { migrationFigures, settleMigration } from './sandbox-migrator';

const NOW = new Date('2026-01-01T00:00:00Z');
const MOVE = { sandboxId: 's', tenantId: 't', from: 'a', to: 'b' };
const FIGURES = { bytes: 1024, downtimeMs: 41.6, totalMs: 1200.2 };

function migrating(state: SandboxEntity['state'] = 'migrating'): SandboxEntity {
  return { id: 's', nodeId: 'a', placedAt: null, state, events: [] } as unknown as SandboxEntity;
}

describe('settleMigration', () => {
  it('places a migrated sandbox on the target, running, with the figures', () => {
    const sandbox = migrating();
    settleMigration(sandbox, MOVE, { result: FIGURES }, NOW);
    expect(sandbox).toMatchObject({ nodeId: 'b', placedAt: NOW, state: 'running' });
    expect(sandbox.events).toEqual([
      { at: NOW.toISOString(), state: 'running', reason: { code: 'MIGRATED', message: 'running on node b, migrated from node a: 1024 bytes, downtime 42 ms, total 1200 ms' } },
    ]);
  });

  it('leaves a failed migration running on its node with the reason', () => {
    const sandbox = migrating();
    const error = { code: 'MIGRATION_FAILED', message: 'sending from node a: boom' };
    settleMigration(sandbox, MOVE, { error }, NOW);
    expect(sandbox).toMatchObject({ nodeId: 'a', state: 'running', events: [{ state: 'running', reason: error }] });
  });

  it('keeps what its node reported meanwhile when it failed', () => {
    const sandbox = migrating('failed');
    settleMigration(sandbox, MOVE, { error: { code: 'MIGRATION_FAILED', message: 'x' } }, NOW);
    expect(sandbox.state).toBe('failed');
  });
});

describe('migrationFigures', () => {
  it('says bytes, downtime and total time', () => {
    expect(migrationFigures({ bytes: 5, downtimeMs: 0, totalMs: 10 })).toBe('5 bytes, downtime 0 ms, total 10 ms');
  });
});
