import type { DesiredSandbox, ErrorInfo } from '@moat/proto';
import { beforeAll, describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';
import { bearer, cleanUpNodeTests } from './support/opened';
import { AGENT_SIZING, TestAgent } from './support/test-agent';

interface Sandbox {
  id: string;
  tenantId: string;
  nodeId: string | null;
  state: string;
  ip: string | null;
  forkedFrom: string | null;
  deploymentId: string | null;
  labels: Record<string, string>;
  env: Record<string, string>;
  ports: { containerPort: number; hostPort?: number; protocol: string }[];
  restartPolicy: { type: string };
  restartCount: number;
  error?: ErrorInfo;
  events: { at: string; state: string; reason?: ErrorInfo }[];
}
interface Tenant {
  id: string;
  name: string;
  apiKey: string;
}

const MISSING = '00000000-0000-4000-8000-000000000000';

describe.each(DATABASES)('fork on $label', ({ kind, skip }) => {
  let t: TestApp;
  let a: TestAgent;
  let tenants = 0;

  beforeAll(async () => {
    if (skip) return;
    t = await startApp(kind);
  });
  cleanUpNodeTests(() => t, () => a, skip);
  const as = bearer;

  async function newTenant(quota?: object): Promise<Tenant> {
    tenants += 1;
    return bodyOf(await t.api().post('/v1/tenants').set(t.admin()).send({ name: `forker-${tenants}`, quota }).expect(201));
  }

  async function agent(): Promise<TestAgent> {
    const connected = await TestAgent.connect(t.baseUrl, t.adminToken);
    expect(await connected.hello({ capacity: { vcpus: 4, memoryMiB: 8192 }, ...AGENT_SIZING })).toMatchObject({ ok: true });
    return connected;
  }

  /** A sandbox its node reports running. */
  async function running(tenant: Tenant, body: object): Promise<Sandbox> {
    const created = bodyOf<Sandbox>(await t.api().post('/v1/sandboxes').set(as(tenant)).send(body).expect(201));
    await a.desiredWhere((ids) => ids.includes(created.id));
    a.status({ id: created.id, state: 'running', timings: [] });
    return reaches(tenant, created.id, { state: 'running' });
  }

  async function reaches(tenant: Tenant, id: string, expected: Partial<Sandbox>): Promise<Sandbox> {
    return eventually(async () => {
      const found = bodyOf<Sandbox>(await t.api().get(`/v1/sandboxes/${id}`).set(as(tenant)).expect(200));
      expect(found).toMatchObject(expected);
      return found;
    });
  }

  /** The entries of the latest desired set once it holds all of `ids`. */
  async function desired(ids: readonly string[]): Promise<Map<string, DesiredSandbox>> {
    const latest = await a.desiredWhere((held) => ids.every((id) => held.includes(id)));
    return new Map(latest.sandboxes.map((s) => [s.id, s]));
  }

  async function list(tenant: Tenant): Promise<Sandbox[]> {
    return bodyOf(await t.api().get('/v1/sandboxes').set(as(tenant)).expect(200));
  }

  itIf(!skip)("clones the source onto its node: its spec, an address each, one fork id and the count in the node's desired set", async () => {
    const tenant = await newTenant();
    a = await agent();
    const source = await running(tenant, {
      rootfs: 'block',
      vcpus: 1,
      memoryMiB: 128,
      command: ['sh', '-c', 'sleep 3600'],
      env: { A: '1' },
      labels: { team: 'x' },
      ports: [{ containerPort: 80, hostPort: 18080, protocol: 'tcp' }],
      restartPolicy: { type: 'on-failure' },
    });

    const clones = bodyOf<Sandbox[]>(await t.api().post(`/v1/sandboxes/${source.id}/fork`).set(as(tenant)).send({ count: 3 }).expect(201));
    expect(clones).toHaveLength(3);
    for (const clone of clones) {
      expect(clone).toMatchObject({
        tenantId: tenant.id,
        nodeId: a.nodeId,
        state: 'pending',
        forkedFrom: source.id,
        deploymentId: null,
        env: { A: '1' },
        labels: { team: 'x' },
        // The source holds its host port: the clone's node picks one.
        ports: [{ containerPort: 80, protocol: 'tcp' }],
        restartPolicy: { type: 'never' },
      });
      expect(clone.ports[0]).not.toHaveProperty('hostPort');
      expect(clone.events).toEqual([{ at: expect.any(String), state: 'pending', reason: { code: 'FORKED', message: `forked from ${source.id}` } }]);
    }
    const ids = clones.map((c) => c.id);
    // Each its own planned address, none the source's.
    const addresses = [source.ip, ...clones.map((c) => c.ip)];
    expect(addresses.every((ip) => typeof ip === 'string')).toBe(true);
    expect(new Set(addresses).size).toBe(4);

    const entries = await desired([source.id, ...ids]);
    expect(entries.get(source.id)?.forkOf).toBeUndefined();
    const forkOfs = ids.map((id) => entries.get(id)?.forkOf);
    const forkId = forkOfs[0]?.forkId;
    expect(forkId).toMatch(/^[0-9a-f-]{36}$/);
    expect(forkOfs).toEqual(ids.map(() => ({ sandboxId: source.id, forkId, count: 3 })));
    expect(ids.map((id) => entries.get(id)?.address)).toEqual(clones.map((c) => c.ip));
    expect(entries.get(ids[0])).toMatchObject({ rootfs: 'block', vcpus: 1, memoryMiB: 128, command: ['sh', '-c', 'sleep 3600'], ports: [{ containerPort: 80, protocol: 'tcp' }] });

    // The source tells of its clones; it is no clone itself.
    const told = bodyOf<Sandbox>(await t.api().get(`/v1/sandboxes/${source.id}`).set(as(tenant)).expect(200));
    expect(told).toMatchObject({ state: 'running', forkedFrom: null });
    expect(told.events.at(-1)).toMatchObject({ state: 'running', reason: { code: 'FORKED', message: `forked into 3: ${ids.join(', ')}` } });
    // Its node holds them: 4 × (128 + 160 overhead).
    const node = await t.api().get(`/v1/nodes/${a.nodeId}`).set(t.admin()).expect(200);
    expect(node.body).toMatchObject({ allocated: { vcpus: 4, memoryMiB: 4 * 288 }, sandboxCount: 4 });

    // In the audit log, as the tenant's: the source, the count and the clones.
    const audit = bodyOf<{ items: { action: string; targetType: string; status: number; message: string | null }[] }>(
      await t.api().get(`/v1/audit?action=sandbox.fork&targetId=${source.id}`).set(as(tenant)).expect(200),
    ).items;
    expect(audit).toEqual([expect.objectContaining({ action: 'sandbox.fork', targetType: 'sandbox', status: 201, message: `forked into 3: ${ids.join(', ')}` })]);

    // Without a body: one clone, its own fork.
    const [single] = bodyOf<Sandbox[]>(await t.api().post(`/v1/sandboxes/${source.id}/fork`).set(as(tenant)).expect(201));
    const singleOf = (await desired([single.id])).get(single.id)?.forkOf;
    expect(singleOf).toEqual({ sandboxId: source.id, forkId: expect.any(String), count: 1 });
    expect(singleOf?.forkId).not.toBe(forkId);

    // A clone its node could not start is an ordinary failed sandbox, not restarted.
    const fail: ErrorInfo = { code: 'FORK_FAILED', message: `sandbox ${source.id} cannot be forked: it is not on this node` };
    a.status({ id: ids[0], state: 'failed', timings: [], error: fail });
    const failed = await reaches(tenant, ids[0], { state: 'failed', error: fail, restartCount: 0 });
    expect(failed.events.at(-1)).toMatchObject({ state: 'failed', reason: fail });
    for (const id of ids.slice(1)) a.status({ id, state: 'running', timings: [] });
    await reaches(tenant, ids[2], { state: 'running' });

    // Deleting the source leaves its clones.
    await t.api().delete(`/v1/sandboxes/${source.id}`).set(as(tenant)).expect(202);
    await a.desiredWhere((held) => !held.includes(source.id));
    a.status({ id: source.id, state: 'gone', timings: [] });
    await eventually(async () => {
      await t.api().get(`/v1/sandboxes/${source.id}`).set(as(tenant)).expect(404);
    });
    expect((await list(tenant)).map((s) => s.id).sort()).toEqual([...ids, single.id].sort());
    await reaches(tenant, ids[1], { state: 'running', forkedFrom: source.id });
  });

  itIf(!skip)('refuses what cannot be forked: unknown or foreign sandboxes, bad counts, other rootfs kinds, sandboxes not running', async () => {
    const tenant = await newTenant();
    const other = await newTenant();
    a = await agent();
    const shared = await running(tenant, { rootfs: 'virtiofs' });
    await t.api().post(`/v1/sandboxes/${shared.id}/fork`).set(as(tenant)).send({ count: 1 }).expect(409, {
      error: { code: 'FORK_UNSUPPORTED', message: `sandbox ${shared.id} has rootfs virtiofs: only one created with rootfs "block" can be forked` },
    });
    const byDefault = await running(tenant, {});
    expect((await t.api().post(`/v1/sandboxes/${byDefault.id}/fork`).set(as(tenant)).expect(409)).body.error.code).toBe('FORK_UNSUPPORTED');

    const block = await running(tenant, { rootfs: 'block' });
    await t.api().post(`/v1/sandboxes/${block.id}/fork`).set(as(other)).send({ count: 1 }).expect(404);
    await t.api().post(`/v1/sandboxes/${MISSING}/fork`).set(as(tenant)).expect(404);
    for (const count of [0, 17, 1.5, '2']) {
      const res = await t.api().post(`/v1/sandboxes/${block.id}/fork`).set(as(tenant)).send({ count }).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }

    // Placed, but not reported running yet.
    const starting = bodyOf<Sandbox>(await t.api().post('/v1/sandboxes').set(as(tenant)).send({ rootfs: 'block' }).expect(201));
    await a.desiredWhere((ids) => ids.includes(starting.id));
    await t.api().post(`/v1/sandboxes/${starting.id}/fork`).set(as(tenant)).expect(409, {
      error: { code: 'SANDBOX_NOT_RUNNING', message: `sandbox ${starting.id} is pending: only a running one can be forked` },
    });
    // Asked to hibernate: it will not be running for long.
    await t.api().post(`/v1/sandboxes/${block.id}/hibernate`).set(as(tenant)).expect(202);
    const sleeping = await t.api().post(`/v1/sandboxes/${block.id}/fork`).set(as(tenant)).expect(409);
    expect(sleeping.body.error).toEqual({ code: 'SANDBOX_NOT_RUNNING', message: `sandbox ${block.id} is running, asked to hibernate: only a running one can be forked` });
    await t.api().post(`/v1/sandboxes/${block.id}/wake`).set(as(tenant)).expect(202);
    a.status({ id: block.id, state: 'failed', timings: [], error: { code: 'VMM_EXITED', message: 'killed' } });
    await reaches(tenant, block.id, { state: 'failed' });
    expect((await t.api().post(`/v1/sandboxes/${block.id}/fork`).set(as(tenant)).expect(409)).body.error.code).toBe('SANDBOX_NOT_RUNNING');

    // Nothing was created, nothing asked of the node.
    expect(await list(tenant)).toHaveLength(4);
    expect(a.desired.flatMap((d) => d.sandboxes).some((s) => s.forkOf)).toBe(false);
  });

  itIf(!skip)("makes all clones or none: within the tenant's quota, and the room of the source's node", async () => {
    const tenant = await newTenant({ maxSandboxes: 3 });
    a = await agent();
    // The node offers 64 vCPUs and 8192 - 1024 = 7168 MiB; the source takes 2048 + 160.
    const source = await running(tenant, { rootfs: 'block', vcpus: 1, memoryMiB: 2048 });

    const overQuota = await t.api().post(`/v1/sandboxes/${source.id}/fork`).set(as(tenant)).send({ count: 3 }).expect(403);
    expect(overQuota.body.error).toEqual({
      code: 'QUOTA_EXCEEDED',
      message: `quota of tenant "${tenant.name}" exceeded: sandboxes: 1 in use + 3 requested > limit 3`,
    });
    expect(await list(tenant)).toHaveLength(1);

    await t.api().patch(`/v1/tenants/${tenant.id}`).set(t.admin()).send({ quota: { maxSandboxes: 10 } }).expect(200);
    await t.api().post(`/v1/tenants/${tenant.id}/suspend`).set(t.admin()).expect(200);
    const suspended = await t.api().post(`/v1/sandboxes/${source.id}/fork`).set(as(tenant)).expect(403);
    expect(suspended.body.error).toEqual({ code: 'TENANT_SUSPENDED', message: `tenant "${tenant.name}" is suspended` });
    await t.api().post(`/v1/tenants/${tenant.id}/resume`).set(t.admin()).expect(200);
    const noRoom = await t.api().post(`/v1/sandboxes/${source.id}/fork`).set(as(tenant)).send({ count: 3 }).expect(409);
    expect(noRoom.body.error.code).toBe('INSUFFICIENT_RESOURCES');
    expect(noRoom.body.error.message).toContain('6624 MiB needed (3 × 2048 MiB + 160 MiB overhead), 4960 MiB free');
    expect(await list(tenant)).toHaveLength(1);

    await t.api().post(`/v1/nodes/${a.nodeId}/cordon`).set(t.admin()).expect(200);
    const cordoned = await t.api().post(`/v1/sandboxes/${source.id}/fork`).set(as(tenant)).send({ count: 2 }).expect(409);
    expect(cordoned.body.error.code).toBe('INVALID_STATE');
    await t.api().post(`/v1/nodes/${a.nodeId}/uncordon`).set(t.admin()).expect(200);

    const clones = bodyOf<Sandbox[]>(await t.api().post(`/v1/sandboxes/${source.id}/fork`).set(as(tenant)).send({ count: 2 }).expect(201));
    expect(clones.map((c) => c.nodeId)).toEqual([a.nodeId, a.nodeId]);
    const usage = await t.api().get(`/v1/tenants/${tenant.id}/usage`).set(as(tenant)).expect(200);
    expect(usage.body).toMatchObject({ sandboxes: 3, vcpus: 3, memoryMiB: 3 * 2048 });
    // The node is nearly full now: a new sandbox of the size waits.
    const waiting = bodyOf<Sandbox>(await t.api().post('/v1/sandboxes').set(as(tenant)).send({ memoryMiB: 2048 }).expect(201));
    expect(waiting).toMatchObject({ state: 'pending', nodeId: null });
  });
});
