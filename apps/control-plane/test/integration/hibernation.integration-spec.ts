import type { DesiredSandbox, ErrorInfo } from '@moat/proto';
import { beforeAll, describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';
import { bearer, cleanUpNodeTests } from './support/opened';
import { AGENT_SIZING, TestAgent } from './support/test-agent';

interface Sandbox {
  id: string;
  nodeId: string | null;
  state: string;
  savedBytes: number | null;
  idleTimeoutSeconds: number | null;
  events: { at: string; state: string; reason?: ErrorInfo }[];
}
interface Usage {
  sandboxes: number;
  vcpus: number;
  memoryMiB: number;
}

const SAVED_BYTES = 3_000_000_000;
const UNSUPPORTED: ErrorInfo = { code: 'HIBERNATE_UNSUPPORTED', message: 'a pod VM cannot be saved' };

describe.each(DATABASES)('hibernate and wake on $label', ({ kind, skip }) => {
  let t: TestApp;
  let tenant: { id: string; apiKey: string };
  let other: { id: string; apiKey: string };
  let a: TestAgent;

  beforeAll(async () => {
    if (skip) return;
    t = await startApp(kind);
    tenant = bodyOf(await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'sleepy' }).expect(201));
    other = bodyOf(await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'nosy' }).expect(201));
  });
  cleanUpNodeTests(() => t, () => a, skip);
  const as = bearer;

  async function agent(): Promise<TestAgent> {
    const connected = await TestAgent.connect(t.baseUrl, t.adminToken);
    expect(await connected.hello({ capacity: { vcpus: 4, memoryMiB: 8192 }, ...AGENT_SIZING })).toMatchObject({ ok: true });
    return connected;
  }

  /** A sandbox its node reports running. */
  async function running(body: object): Promise<Sandbox> {
    const created = bodyOf<Sandbox>(await t.api().post('/v1/sandboxes').set(as(tenant)).send(body).expect(201));
    await a.desiredWhere((ids) => ids.includes(created.id));
    a.status({ id: created.id, state: 'running', timings: [] });
    return reaches(created.id, { state: 'running' });
  }

  async function reaches(id: string, expected: Partial<Sandbox>): Promise<Sandbox> {
    return eventually(async () => {
      const found = bodyOf<Sandbox>(await t.api().get(`/v1/sandboxes/${id}`).set(as(tenant)).expect(200));
      expect(found).toMatchObject(expected);
      return found;
    });
  }

  /** Its entry in the latest desired set, once `predicate` holds for it. */
  async function desired(id: string, predicate: (entry: DesiredSandbox) => boolean): Promise<DesiredSandbox> {
    const latest = await a.desiredWhere(() => {
      const entry = a.desired.at(-1)?.sandboxes.find((s) => s.id === id);
      return entry !== undefined && predicate(entry);
    });
    return latest.sandboxes.find((s) => s.id === id) as DesiredSandbox;
  }

  async function usage(): Promise<Usage> {
    return bodyOf(await t.api().get(`/v1/tenants/${tenant.id}/usage`).set(as(tenant)).expect(200));
  }

  itIf(!skip)('refuses what cannot hibernate: unknown or foreign sandboxes, other rootfs kinds, sandboxes not running', async () => {
    a = await agent();
    const shared = await running({ rootfs: 'virtiofs' });
    await t.api().post(`/v1/sandboxes/${shared.id}/hibernate`).set(as(tenant)).expect(409, {
      error: { code: 'HIBERNATE_UNSUPPORTED', message: `sandbox ${shared.id} has rootfs virtiofs: only one created with rootfs "block" can hibernate` },
    });
    const byDefault = await running({});
    expect((await t.api().post(`/v1/sandboxes/${byDefault.id}/hibernate`).set(as(tenant)).expect(409)).body.error.code).toBe('HIBERNATE_UNSUPPORTED');

    const block = await running({ rootfs: 'block' });
    await t.api().post(`/v1/sandboxes/${block.id}/hibernate`).set(as(other)).expect(404);
    await t.api().post(`/v1/sandboxes/${block.id}/wake`).set(as(other)).expect(404);
    await t.api().post('/v1/sandboxes/00000000-0000-4000-8000-000000000000/hibernate').set(as(tenant)).expect(404);
    // Waking one that runs changes nothing.
    expect(bodyOf<Sandbox>(await t.api().post(`/v1/sandboxes/${block.id}/wake`).set(as(tenant)).expect(202))).toMatchObject({ state: 'running' });
    expect((await desired(block.id, () => true)).hibernated).toBeUndefined();

    a.status({ id: block.id, state: 'failed', timings: [], error: { code: 'VMM_EXITED', message: 'killed' } });
    await reaches(block.id, { state: 'failed' });
    for (const action of ['hibernate', 'wake']) {
      const res = await t.api().post(`/v1/sandboxes/${block.id}/${action}`).set(as(tenant)).expect(409);
      expect(res.body).toEqual({ error: { code: 'SANDBOX_NOT_RUNNING', message: `sandbox ${block.id} is failed, neither running nor hibernated` } });
    }
    // Nothing was asked of the node.
    expect(a.desired.flatMap((d) => d.sandboxes).some((s) => s.hibernated)).toBe(false);
  });

  itIf(!skip)('hibernates through the node, frees its vCPUs and memory but not its sandbox slot, and wakes within the quota', async () => {
    const quota = { maxSandboxes: 2, maxVcpus: 2, maxMemoryMiB: 4096 };
    await t.api().patch(`/v1/tenants/${tenant.id}`).set(t.admin()).send({ quota }).expect(200);
    a = await agent();
    const sleeper = await running({ rootfs: 'block', vcpus: 2, memoryMiB: 1024 });
    expect(await usage()).toMatchObject({ sandboxes: 1, vcpus: 2, memoryMiB: 1024 });

    const accepted = bodyOf<Sandbox>(await t.api().post(`/v1/sandboxes/${sleeper.id}/hibernate`).set(as(tenant)).expect(202));
    // Its state is the node's to report.
    expect(accepted).toMatchObject({ id: sleeper.id, state: 'running', savedBytes: null });
    await desired(sleeper.id, (entry) => entry.hibernated === true);
    // Asking again is harmless.
    await t.api().post(`/v1/sandboxes/${sleeper.id}/hibernate`).set(as(tenant)).expect(202);

    a.status({ id: sleeper.id, state: 'hibernating', timings: [] });
    await reaches(sleeper.id, { state: 'hibernating', savedBytes: null });
    // Still hibernating: it holds its vCPUs and memory until saved.
    expect(await usage()).toMatchObject({ vcpus: 2, memoryMiB: 1024 });
    await t.api().post(`/v1/sandboxes/${sleeper.id}/hibernate`).set(as(tenant)).expect(202);
    a.status({ id: sleeper.id, state: 'hibernated', timings: [], savedBytes: SAVED_BYTES });
    const asleep = await reaches(sleeper.id, { state: 'hibernated', savedBytes: SAVED_BYTES });
    expect(asleep.events.map((e) => e.state)).toEqual(['pending', 'running', 'hibernating', 'hibernated']);
    expect(await usage()).toMatchObject({ sandboxes: 1, vcpus: 0, memoryMiB: 0 });
    // Its node holds nothing for it either, not even the sandbox overhead.
    const node = await t.api().get(`/v1/nodes/${a.nodeId}`).set(t.admin()).expect(200);
    expect(node.body).toMatchObject({ allocated: { vcpus: 0, memoryMiB: 0 }, sandboxCount: 1 });

    // Its vCPUs are someone else's now; its slot is not.
    const awake = await running({ vcpus: 2, memoryMiB: 1024 });
    const full = await t.api().post('/v1/sandboxes').set(as(tenant)).send({ vcpus: 1, memoryMiB: 128 }).expect(403);
    expect(full.body.error.message).toContain('sandboxes: 2 in use + 1 requested > limit 2');

    // Waking takes its vCPUs back: not while another sandbox holds them.
    const refused = await t.api().post(`/v1/sandboxes/${sleeper.id}/wake`).set(as(tenant)).expect(403);
    expect(refused.body.error).toEqual({ code: 'QUOTA_EXCEEDED', message: 'quota of tenant "sleepy" exceeded: vcpus: 2 in use + 2 requested > limit 2' });
    expect((await desired(sleeper.id, () => true)).hibernated).toBe(true);

    await t.api().delete(`/v1/sandboxes/${awake.id}`).set(as(tenant)).expect(202);
    expect(bodyOf<Sandbox>(await t.api().post(`/v1/sandboxes/${sleeper.id}/wake`).set(as(tenant)).expect(202))).toMatchObject({ state: 'hibernated' });
    await desired(sleeper.id, (entry) => entry.hibernated === undefined);
    expect(await usage()).toMatchObject({ sandboxes: 1, vcpus: 2, memoryMiB: 1024 });
    await t.api().post(`/v1/sandboxes/${sleeper.id}/wake`).set(as(tenant)).expect(202);

    a.status({ id: sleeper.id, state: 'waking', timings: [] });
    await reaches(sleeper.id, { state: 'waking', savedBytes: null });
    a.status({ id: sleeper.id, state: 'running', timings: [] });
    const woken = await reaches(sleeper.id, { state: 'running', savedBytes: null });
    expect(woken.events.map((e) => e.state).slice(-3)).toEqual(['hibernated', 'waking', 'running']);

    // Both are in the audit log, as the tenant's.
    const audit = bodyOf<{ items: { action: string; targetId: string; status: number }[] }>(
      await t.api().get(`/v1/audit?targetId=${sleeper.id}`).set(as(tenant)).expect(200),
    ).items;
    expect(audit.filter((e) => e.action === 'sandbox.hibernate').map((e) => e.status).sort()).toEqual([202, 202, 202]);
    expect(audit.filter((e) => e.action === 'sandbox.wake').map((e) => e.status).sort()).toEqual([202, 202, 403]);
  });

  itIf(!skip)('stops asking when the node cannot hibernate the sandbox, and says why in its events', async () => {
    a = await agent();
    const pod = await running({ rootfs: 'block' });
    await t.api().post(`/v1/sandboxes/${pod.id}/hibernate`).set(as(tenant)).expect(202);
    await desired(pod.id, (entry) => entry.hibernated === true);

    a.status({ id: pod.id, state: 'running', timings: [], error: UNSUPPORTED });
    await desired(pod.id, (entry) => entry.hibernated === undefined);
    const told = await reaches(pod.id, { state: 'running' });
    expect(told.events.at(-1)).toMatchObject({ state: 'running', reason: UNSUPPORTED });
    expect(told).not.toHaveProperty('error');
    // It may be asked again (and is, once).
    await t.api().post(`/v1/sandboxes/${pod.id}/hibernate`).set(as(tenant)).expect(202);
    await desired(pod.id, (entry) => entry.hibernated === true);
  });

  describe('auto-hibernate', () => {
    const NEEDS_BLOCK = 'idleTimeoutSeconds needs rootfs "block": only such a sandbox can hibernate (QEMU saves no shared filesystem)';

    beforeAll(async () => {
      if (skip) return;
      // Room for a few sandboxes whatever the tests above left the quota at.
      await t.api().patch(`/v1/tenants/${tenant.id}`).set(t.admin()).send({ quota: { maxSandboxes: 8, maxVcpus: 8, maxMemoryMiB: 8192 } }).expect(200);
    });

    /** What the node reports when the sandbox has been unused that long. */
    const idleFor = (id: string, idleSeconds: number) => a.status({ id, state: 'running', timings: [], idleSeconds });

    /** Has its node report it idle, and takes it through hibernating to hibernated as the node would once asked. */
    async function hibernatedWhenIdle(id: string): Promise<Sandbox> {
      idleFor(id, 31);
      await desired(id, (entry) => entry.hibernated === true);
      a.status({ id, state: 'hibernating', timings: [] });
      a.status({ id, state: 'hibernated', timings: [], savedBytes: SAVED_BYTES });
      return reaches(id, { state: 'hibernated' });
    }

    itIf(!skip)('takes idleTimeoutSeconds for a block-rootfs sandbox or template, shows it, and gives it to the node', async () => {
      a = await agent();
      const refusals: [object, string][] = [
        [{ idleTimeoutSeconds: 30 }, NEEDS_BLOCK],
        [{ rootfs: 'virtiofs', idleTimeoutSeconds: 30 }, NEEDS_BLOCK],
        [{ rootfs: 'block', idleTimeoutSeconds: 9 }, 'idleTimeoutSeconds must not be less than 10'],
        [{ rootfs: 'block', idleTimeoutSeconds: 604_801 }, 'idleTimeoutSeconds must not be greater than 604800'],
        [{ rootfs: 'block', idleTimeoutSeconds: 30.5 }, 'idleTimeoutSeconds must be an integer number'],
      ];
      for (const [body, message] of refusals) {
        const res = await t.api().post('/v1/sandboxes').set(as(tenant)).send(body);
        expect({ status: res.status, body }).toMatchObject({ status: 400 });
        expect(res.body).toEqual({ error: { code: 'VALIDATION_FAILED', message } });
      }

      const sleepy = await running({ rootfs: 'block', idleTimeoutSeconds: 30 });
      expect(sleepy.idleTimeoutSeconds).toBe(30);
      expect((await desired(sleepy.id, () => true)).idleTimeoutSeconds).toBe(30);
      const awake = await running({ rootfs: 'block' });
      expect(awake.idleTimeoutSeconds).toBeNull();
      expect(await desired(awake.id, () => true)).not.toHaveProperty('idleTimeoutSeconds');

      // A template's replicas inherit it.
      const spec = { vcpus: 1, memoryMiB: 256, idleTimeoutSeconds: 600 };
      const refused = await t.api().post('/v1/templates').set(as(tenant)).send({ name: 'idle-shared', ...spec }).expect(400);
      expect(refused.body.error).toEqual({ code: 'VALIDATION_FAILED', message: NEEDS_BLOCK });
      const template = bodyOf<{ id: string; idleTimeoutSeconds: number }>(
        await t.api().post('/v1/templates').set(as(tenant)).send({ name: 'idle-block', rootfs: 'block', ...spec }).expect(201),
      );
      expect(template.idleTimeoutSeconds).toBe(600);
      const deployment = bodyOf<{ id: string }>(
        await t.api().post('/v1/deployments').set(as(tenant)).send({ templateId: template.id, replicas: 1, strategy: { type: 'rolling' } }).expect(201),
      );
      const replica = await eventually(async () => {
        const [found] = bodyOf<Sandbox[]>(await t.api().get(`/v1/sandboxes?deploymentId=${deployment.id}`).set(as(tenant)).expect(200));
        expect(found).toBeDefined();
        return found;
      });
      expect(replica.idleTimeoutSeconds).toBe(600);
      expect((await desired(replica.id, () => true)).idleTimeoutSeconds).toBe(600);
      await t.api().delete(`/v1/deployments/${deployment.id}`).set(as(tenant)).expect(202);
    });

    itIf(!skip)('asks a sandbox its node reports idle to hibernate, once, and says so in its events (a system action: not audited)', async () => {
      a = await agent();
      const sleepy = await running({ rootfs: 'block', idleTimeoutSeconds: 30 });
      const plain = await running({ rootfs: 'block' });
      // Short of its timeout, or without one: nothing is asked.
      idleFor(sleepy.id, 29);
      idleFor(plain.id, 3_600);
      idleFor(sleepy.id, 31);
      await desired(sleepy.id, (entry) => entry.hibernated === true);
      expect((await desired(plain.id, () => true)).hibernated).toBeUndefined();
      const asked = await reaches(sleepy.id, { state: 'running' });
      expect(asked.events.at(-1)).toMatchObject({ state: 'running', reason: { code: 'IDLE', message: 'idle for 31 s: hibernating' } });

      // Said again before the node heard: asked once.
      idleFor(sleepy.id, 34);
      a.status({ id: sleepy.id, state: 'hibernating', timings: [] });
      a.status({ id: sleepy.id, state: 'hibernated', timings: [], savedBytes: SAVED_BYTES });
      const asleep = await reaches(sleepy.id, { state: 'hibernated', savedBytes: SAVED_BYTES });
      expect(asleep.events.filter((e) => e.reason?.code === 'IDLE')).toHaveLength(1);
      expect(asleep.events.map((e) => e.state).slice(-3)).toEqual(['running', 'hibernating', 'hibernated']);
      expect(await usage()).toMatchObject({ sandboxes: 2, vcpus: 1, memoryMiB: 256 });
      const plainNow = await reaches(plain.id, { state: 'running' });
      expect(plainNow.events.some((e) => e.reason)).toBe(false);

      const audit = bodyOf<{ items: { action: string }[] }>(await t.api().get(`/v1/audit?targetId=${sleepy.id}`).set(as(tenant)).expect(200)).items;
      expect(audit.map((e) => e.action)).toEqual(['sandbox.create']);
    });

    itIf(!skip)('wakes a hibernated sandbox for an exec, which runs once its node reports it running', async () => {
      a = await agent();
      a.onExec = (request) => ({ ok: true, result: { exitCode: 0, stdout: `${request.command.join(' ')}\n`, stderr: '' } });
      const sleepy = await running({ rootfs: 'block', idleTimeoutSeconds: 30 });
      await hibernatedWhenIdle(sleepy.id);
      // Stats do not wake it.
      expect((await t.api().get(`/v1/sandboxes/${sleepy.id}/stats`).set(as(tenant)).expect(409)).body.error.code).toBe('SANDBOX_NOT_RUNNING');

      const exec = t.api().post(`/v1/sandboxes/${sleepy.id}/exec`).set(as(tenant)).send({ command: ['echo', 'awake'] }).then((res) => res);
      await desired(sleepy.id, (entry) => entry.hibernated === undefined);
      // It waits for the sandbox; nothing reached the node's exec relay yet.
      a.status({ id: sleepy.id, state: 'waking', timings: [] });
      await reaches(sleepy.id, { state: 'waking' });
      expect(a.execRequests).toEqual([]);
      a.status({ id: sleepy.id, state: 'running', timings: [] });
      const res = await exec;
      expect({ status: res.status, body: res.body as unknown }).toEqual({ status: 200, body: { exitCode: 0, stdout: 'echo awake\n', stderr: '' } });
      expect(a.execRequests.map((r) => r.sandboxId)).toEqual([sleepy.id]);
      const woken = await reaches(sleepy.id, { state: 'running', savedBytes: null });
      expect(woken.events.map((e) => e.state).slice(-3)).toEqual(['hibernated', 'waking', 'running']);
      // As any wake, it takes its vCPUs and memory back.
      expect(await usage()).toMatchObject({ sandboxes: 1, vcpus: 1, memoryMiB: 256 });
    });

    itIf(!skip)('answers an exec whose wake fails 502 WAKE_FAILED, and keeps 409 for sandboxes neither running nor hibernated', async () => {
      a = await agent();
      const sleepy = await running({ rootfs: 'block', idleTimeoutSeconds: 30 });
      await hibernatedWhenIdle(sleepy.id);
      const exec = t.api().post(`/v1/sandboxes/${sleepy.id}/exec`).set(as(tenant)).send({ command: ['true'] }).then((res) => res);
      await desired(sleepy.id, (entry) => entry.hibernated === undefined);
      a.status({ id: sleepy.id, state: 'failed', timings: [], error: { code: 'HIBERNATE_FAILED', message: 'the saved state is corrupt' } });
      const res = await exec;
      expect({ status: res.status, body: res.body as unknown }).toEqual({
        status: 502,
        body: { error: { code: 'WAKE_FAILED', message: `sandbox ${sleepy.id} was hibernated and failed to wake: HIBERNATE_FAILED: the saved state is corrupt` } },
      });
      expect(a.execRequests).toEqual([]);
      // Failed now: no wake, the usual refusal.
      const failed = await t.api().post(`/v1/sandboxes/${sleepy.id}/exec`).set(as(tenant)).send({ command: ['true'] }).expect(409);
      expect(failed.body.error).toEqual({ code: 'SANDBOX_NOT_RUNNING', message: `sandbox ${sleepy.id} is failed, not running` });
    });

    itIf(!skip)('answers 502 WAKE_FAILED when the node keeps the sandbox hibernated, which then stays so, not asked to wake', async () => {
      a = await agent();
      const sleepy = await running({ rootfs: 'block', idleTimeoutSeconds: 30 });
      await hibernatedWhenIdle(sleepy.id);
      const exec = t.api().post(`/v1/sandboxes/${sleepy.id}/exec`).set(as(tenant)).send({ command: ['true'] }).then((res) => res);
      await desired(sleepy.id, (entry) => entry.hibernated === undefined);
      a.status({ id: sleepy.id, state: 'waking', timings: [] });
      await reaches(sleepy.id, { state: 'waking' });
      const why = { code: 'AGENT_CALL_FAILED', message: 'agent: Health.Check: deadline exceeded' };
      a.status({ id: sleepy.id, state: 'hibernated', timings: [], savedBytes: 4096, error: why });
      const res = await exec;
      expect({ status: res.status, body: res.body as unknown }).toEqual({
        status: 502,
        body: { error: { code: 'WAKE_FAILED', message: `sandbox ${sleepy.id} was hibernated and failed to wake: ${why.code}: ${why.message}` } },
      });
      // Its saved state is kept: it stays hibernated, its node no longer asked to wake it, the reason in its events.
      await desired(sleepy.id, (entry) => entry.hibernated === true);
      const kept = await reaches(sleepy.id, { state: 'hibernated', savedBytes: 4096 });
      expect(kept.events.at(-1)).toMatchObject({ state: 'hibernated', reason: why });
    });
  });
});
