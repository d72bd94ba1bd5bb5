import type { DesiredSandbox, ErrorInfo } from '@moat/proto';
import { afterAll, afterEach, beforeAll, describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';
import { AGENT_SIZING, TestAgent } from './support/test-agent';

interface Sandbox {
  id: string;
  nodeId: string | null;
  state: string;
  savedBytes: number | null;
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
  afterEach(async () => {
    a?.close();
    if (skip) return;
    // The next test's sandboxes go to its own node only.
    await eventually(async () => {
      const nodes = bodyOf<{ state: string }[]>(await t.api().get('/v1/nodes').set(t.admin()).expect(200));
      expect(nodes.filter((n) => n.state !== 'down')).toEqual([]);
    }, { timeout: 15_000 });
    for (const s of bodyOf<Sandbox[]>(await t.api().get('/v1/sandboxes').set(t.admin()).expect(200))) {
      await t.api().delete(`/v1/sandboxes/${s.id}`).set(t.admin()).expect(202);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  const as = (who: { apiKey: string }): Record<string, string> => ({ Authorization: `Bearer ${who.apiKey}` });

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
});
