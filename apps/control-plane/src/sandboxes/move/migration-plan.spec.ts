import { describe, expect, it } from '@jest/globals';
import { drainStep, migrationRefusal, targetRefusal, type MigratableSandbox } from './migration-plan';

const running: MigratableSandbox & { deploymentId: string | null } = {
  id: 's',
  rootfs: 'block',
  state: 'running',
  desiredState: 'running',
  desiredHibernated: false,
  movingTo: null,
  nodeId: 'a',
  deploymentId: null,
};

describe('migrationRefusal', () => {
  it('lets a running rootfs block sandbox with no move under way migrate', () => {
    expect(migrationRefusal(running)).toBeUndefined();
  });

  it('refuses any other rootfs as hibernate does', () => {
    expect(migrationRefusal({ ...running, rootfs: 'virtiofs' })).toEqual({
      code: 'MIGRATION_UNSUPPORTED',
      message: 'sandbox s has rootfs virtiofs: only one created with rootfs "block" can be live-migrated',
    });
    expect(migrationRefusal({ ...running, rootfs: null })?.message).toContain("rootfs (the node's default)");
  });

  it('refuses one that does not run, is asked to hibernate, or migrates already', () => {
    expect(migrationRefusal({ ...running, state: 'hibernated', desiredHibernated: true })).toEqual({
      code: 'SANDBOX_NOT_RUNNING',
      message: 'sandbox s is hibernated, asked to hibernate: only a running sandbox can be live-migrated',
    });
    expect(migrationRefusal({ ...running, desiredHibernated: true })?.code).toBe('SANDBOX_NOT_RUNNING');
    expect(migrationRefusal({ ...running, state: 'stopping', desiredState: 'deleted' })?.code).toBe('SANDBOX_NOT_RUNNING');
    expect(migrationRefusal({ ...running, state: 'migrating', movingTo: 'b' })).toEqual({ code: 'SANDBOX_NOT_RUNNING', message: 'sandbox s is migrating to node b already' });
  });
});

describe('targetRefusal', () => {
  const node = { id: 'b', name: 'node-b', state: 'ready' as const };

  it('takes a ready other node with room', () => {
    expect(targetRefusal(node, 'b', running, undefined)).toBeUndefined();
  });

  it('refuses a missing node, its own, one not ready, one without room', () => {
    expect(targetRefusal(null, 'b', running, undefined)).toEqual({ code: 'NODE_NOT_FOUND', message: 'node b not found' });
    expect(targetRefusal({ ...node, id: 'a', name: 'node-a' }, 'a', running, undefined)).toEqual({ code: 'INVALID_STATE', message: 'sandbox s runs on node node-a already' });
    for (const state of ['cordoned', 'draining', 'down', 'unknown'] as const) {
      expect(targetRefusal({ ...node, state }, 'b', running, undefined)).toEqual({
        code: 'INVALID_STATE',
        message: `node node-b is ${state}: a sandbox can only migrate to a ready node`,
      });
    }
    expect(targetRefusal(node, 'b', running, '2 vCPUs needed, 1 free')).toEqual({
      code: 'INSUFFICIENT_RESOURCES',
      message: 'node node-b has no room for sandbox s: 2 vCPUs needed, 1 free',
    });
  });
});

describe('drainStep', () => {
  it('migrates a running block sandbox', () => {
    expect(drainStep(running)).toEqual({ kind: 'migrate' });
  });

  it('says why any other falls back, and what happens to it', () => {
    const reason = (overrides: Partial<typeof running>): string | undefined => {
      const step = drainStep({ ...running, ...overrides });
      return step.kind === 'fallback' ? step.reason.message : undefined;
    };
    expect(drainStep({ ...running, rootfs: 'virtiofs' })).toEqual({
      kind: 'fallback',
      reason: { code: 'DRAIN_FALLBACK', message: 'it cannot migrate (rootfs virtiofs; only "block" can): it keeps running on its node until deleted' },
    });
    expect(reason({ deploymentId: 'd' })).toBe('its deployment d replaces it on another node');
    expect(reason({ state: 'hibernated', desiredHibernated: true })).toBe('it is hibernated, not running: it wakes on another node when woken');
    expect(reason({ state: 'creating' })).toBe('it is creating, not running: it stays on its node');
    expect(reason({ state: 'migrating', movingTo: 'b' })).toBe('it is migrating already');
  });
});
