import type { SandboxStatus } from '@moat/proto';
import { describe, expect, it } from '@jest/globals';
import { resolveRestartPolicy } from './restart-policy';
import { applyStatus } from './sandbox-status';
import { newSandbox, type SandboxEntity } from './sandbox.entity';
import { sandboxRequest } from './testing/sandbox-request';

const CREATED = new Date('2026-01-01T00:00:00Z');
const AT = new Date('2026-01-01T00:01:00Z');

function placed(overrides: Partial<SandboxEntity> = {}): SandboxEntity {
  const sandbox = newSandbox(sandboxRequest({ tenantId: 't', nodeId: 'n', placedAt: CREATED }), CREATED);
  return Object.assign(sandbox, overrides);
}

const status = (state: SandboxStatus['state'], extra: Partial<SandboxStatus> = {}): SandboxStatus => ({ id: 'x', state, timings: [], ...extra });

describe('applyStatus', () => {
  it('takes the reported state with an event, and leaves the desired set alone while it runs', () => {
    const sandbox = placed();
    expect(applyStatus(sandbox, status('running'), AT)).toMatchObject({ changed: true, desiredChanged: false });
    expect(sandbox.state).toBe('running');
    expect(sandbox.events.at(-1)).toEqual({ at: AT.toISOString(), state: 'running' });
  });

  it('keeps a sandbox being deleted stopping until it is gone, then has its row removed', () => {
    const sandbox = placed({ desiredState: 'deleted', state: 'stopping' });
    applyStatus(sandbox, status('running'), AT);
    expect(sandbox.state).toBe('stopping');
    expect(applyStatus(sandbox, status('gone'), AT)).toMatchObject({ removed: true, changed: false });
  });

  it('drops a failed sandbox from the desired set, unless its restart policy starts it again', () => {
    const never = placed();
    expect(applyStatus(never, status('failed', { error: { code: 'BOOM', message: 'no' } }), AT)).toMatchObject({ desiredChanged: true });
    expect(never.error).toEqual({ code: 'BOOM', message: 'no' });
    expect(never.restartAt).toBeNull();

    const restarting = placed({ restartPolicy: resolveRestartPolicy({ type: 'on-failure' }) });
    expect(applyStatus(restarting, status('failed'), AT)).toMatchObject({ desiredChanged: false, typedChanged: ['restartAt'] });
    expect(restarting.restartAt).toEqual(new Date(AT.getTime() + 1000));
  });

  it('marks a running sandbox its node no longer has lost, not restarted', () => {
    const sandbox = placed({ state: 'running', restartPolicy: resolveRestartPolicy({ type: 'on-failure' }) });
    expect(applyStatus(sandbox, status('gone'), AT)).toMatchObject({ changed: true, desiredChanged: true });
    expect(sandbox).toMatchObject({ state: 'failed', error: { code: 'SANDBOX_LOST' }, restartAt: null });
  });

  describe('hibernation', () => {
    const UNSUPPORTED = { code: 'HIBERNATE_UNSUPPORTED', message: 'its rootfs is shared over virtio-fs' };

    it('takes hibernated with its saved size; its vCPUs and memory are released only while it is asked to stay so', () => {
      const sandbox = placed({ state: 'hibernating', desiredHibernated: true, rootfs: 'block' });
      expect(applyStatus(sandbox, status('hibernated', { savedBytes: 300_000_000 }), AT)).toMatchObject({
        desiredChanged: false,
        typedChanged: ['savedBytes'],
        releasedChanged: true,
      });
      expect(sandbox).toMatchObject({ state: 'hibernated', savedBytes: 300_000_000 });
      expect(sandbox.events.at(-1)).toEqual({ at: AT.toISOString(), state: 'hibernated' });

      // Asked to wake: the node's hibernated report (sent before it heard) releases nothing.
      const waking = placed({ state: 'hibernating', desiredHibernated: false, rootfs: 'block' });
      expect(applyStatus(waking, status('hibernated', { savedBytes: 1 }), AT)).toMatchObject({ releasedChanged: false });
    });

    it('forgets the saved size once it wakes', () => {
      const sandbox = placed({ state: 'hibernated', savedBytes: 300_000_000, rootfs: 'block' });
      expect(applyStatus(sandbox, status('waking'), AT)).toMatchObject({ typedChanged: ['savedBytes'], releasedChanged: false });
      expect(sandbox).toMatchObject({ state: 'waking', savedBytes: null });
      applyStatus(sandbox, status('running'), AT);
      expect(sandbox.events.map((e) => e.state)).toEqual(['pending', 'waking', 'running']);
    });

    it('stops asking when the node cannot hibernate it, and says why in an event even though it still runs', () => {
      const sandbox = placed({ state: 'running', desiredHibernated: true, events: [{ at: CREATED.toISOString(), state: 'running' }] });
      expect(applyStatus(sandbox, status('running', { error: UNSUPPORTED }), AT)).toMatchObject({
        desiredChanged: true,
        typedChanged: ['desiredHibernated'],
      });
      expect(sandbox).toMatchObject({ state: 'running', desiredHibernated: false, error: null });
      expect(sandbox.events.at(-1)).toEqual({ at: AT.toISOString(), state: 'running', reason: UNSUPPORTED });

      // Said again before the node heard: nothing more to record.
      expect(applyStatus(sandbox, status('running', { error: UNSUPPORTED }), AT)).toMatchObject({ desiredChanged: false, typedChanged: [] });
      expect(sandbox.events).toHaveLength(2);
    });

    it('stops asking when the node cannot wake it, which stays hibernated, and says why in an event', () => {
      const sandbox = placed({ state: 'waking', desiredHibernated: false, rootfs: 'block' });
      const why = { code: 'AGENT_CALL_FAILED', message: 'agent: Health.Check: deadline exceeded' };
      expect(applyStatus(sandbox, status('hibernated', { savedBytes: 5, error: why }), AT)).toMatchObject({
        desiredChanged: true,
        typedChanged: ['savedBytes', 'desiredHibernated'],
        releasedChanged: true,
      });
      expect(sandbox).toMatchObject({ state: 'hibernated', desiredHibernated: true, savedBytes: 5, error: null });
      expect(sandbox.events.at(-1)).toEqual({ at: AT.toISOString(), state: 'hibernated', reason: why });
    });

    it('keeps a sandbox whose saved state moves to another node waking while its node still reports it hibernated', () => {
      const sandbox = placed({ state: 'waking', desiredHibernated: false, rootfs: 'block', movingTo: 'other-node' });
      expect(applyStatus(sandbox, status('hibernated', { savedBytes: 5 }), AT)).toMatchObject({ desiredChanged: false, typedChanged: [] });
      expect(sandbox).toMatchObject({ state: 'waking', desiredHibernated: false, savedBytes: null });
    });

    it('does not ask a failed sandbox to hibernate any more', () => {
      const sandbox = placed({ state: 'running', desiredHibernated: true });
      expect(applyStatus(sandbox, status('failed', { error: { code: 'VMM_EXITED', message: 'gone' } }), AT)).toMatchObject({
        desiredChanged: true,
        typedChanged: ['desiredHibernated'],
      });
      expect(sandbox.desiredHibernated).toBe(false);
    });
  });

  describe('auto-hibernate', () => {
    const IDLE = { at: AT.toISOString(), state: 'running', reason: { code: 'IDLE', message: 'idle for 31 s: hibernating' } };

    it('asks a sandbox its node reports idle for its timeout to hibernate, once, with an event', () => {
      const sandbox = placed({ state: 'running', rootfs: 'block', idleTimeoutSeconds: 30, events: [{ at: CREATED.toISOString(), state: 'running' }] });
      expect(applyStatus(sandbox, status('running', { idleSeconds: 31 }), AT)).toMatchObject({
        desiredChanged: true,
        typedChanged: ['desiredHibernated'],
        releasedChanged: false,
      });
      expect(sandbox).toMatchObject({ state: 'running', desiredHibernated: true });
      expect(sandbox.events.at(-1)).toEqual(IDLE);

      // Said again before the node heard: asked already, nothing more to record.
      expect(applyStatus(sandbox, status('running', { idleSeconds: 34 }), AT)).toMatchObject({ desiredChanged: false, typedChanged: [] });
      expect(sandbox.events).toHaveLength(2);
    });

    it('takes an idle report for nothing from a sandbox without a timeout, short of it, or being deleted', () => {
      for (const sandbox of [
        placed({ state: 'running', rootfs: 'block' }),
        placed({ state: 'running', rootfs: 'block', idleTimeoutSeconds: 60 }),
        placed({ state: 'stopping', desiredState: 'deleted', rootfs: 'block', idleTimeoutSeconds: 30 }),
      ]) {
        const events = sandbox.events.length;
        expect(applyStatus(sandbox, status('running', { idleSeconds: 31 }), AT)).toMatchObject({ desiredChanged: false, typedChanged: [] });
        expect(sandbox.desiredHibernated).toBe(false);
        expect(sandbox.events.slice(events).some((e) => e.reason)).toBe(false);
      }
    });

    it('records the idle reason on the event of a state change reported with it', () => {
      const sandbox = placed({ state: 'waking', rootfs: 'block', idleTimeoutSeconds: 30 });
      expect(applyStatus(sandbox, status('running', { idleSeconds: 31 }), AT)).toMatchObject({ desiredChanged: true });
      expect(sandbox.events.at(-1)).toEqual(IDLE);
    });
  });

  describe('while its VM is live-migrated', () => {
    const migrating = (): SandboxEntity => placed({ state: 'migrating', movingTo: 'target', liveMove: true, rootfs: 'block' });
    const report = (state: SandboxStatus['state']): SandboxStatus => ({ id: 'x', state, timings: [] });

    it('stays migrating while its node reports it running', () => {
      const outcome = applyStatus(migrating(), report('running'), AT);
      expect(outcome.sandbox.state).toBe('migrating');
      expect(outcome.desiredChanged).toBe(false);
    });

    it("leaves the source's gone to the migration's answer", () => {
      expect(applyStatus(migrating(), report('gone'), AT)).toMatchObject({ changed: false, desiredChanged: false, sandbox: { state: 'migrating' } });
    });

    it('takes a failure as any other', () => {
      expect(applyStatus(migrating(), { ...report('failed'), error: { code: 'VMM_EXITED', message: 'qemu exited' } }, AT).sandbox.state).toBe('failed');
    });

    it('treats a wake move as before (its node keeps it hibernated, gone is a loss)', () => {
      const waking = placed({ state: 'waking', movingTo: 'target', liveMove: false });
      expect(applyStatus(waking, report('gone'), AT).sandbox.state).toBe('failed');
    });
  });
});
