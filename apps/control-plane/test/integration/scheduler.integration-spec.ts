import { afterAll, afterEach, beforeAll, describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { ADMIN } from '../../src/auth/principal';
import { SandboxesService } from '../../src/sandboxes/sandboxes.service';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';
import { TestAgent } from './support/test-agent';

interface Sandbox {
  id: string;
  nodeId: string | null;
}

describe.each(DATABASES)('scheduler policies on $label', ({ kind, skip }) => {
  let t: TestApp;
  let tenantId: string;
  let opened: TestAgent[] = [];

  beforeAll(async () => {
    if (skip) return;
    // Bin-packing with 2x CPU overcommit (memory not overcommitted).
    t = await startApp(kind, { MOAT_SCHEDULER_STRATEGY: 'binpack', MOAT_CPU_OVERCOMMIT: '2' });
    const quota = { maxSandboxes: 1000, maxVcpus: 1000, maxMemoryMiB: 10_000_000 };
    tenantId = bodyOf<{ id: string }>(await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'sched', quota }).expect(201)).id;
  });
  afterEach(() => {
    opened.forEach((a) => a.close());
    opened = [];
  });
  afterAll(async () => {
    await t?.close();
  });

  async function agents(n: number, capacity: { vcpus: number; memoryMiB: number }): Promise<TestAgent[]> {
    const list: TestAgent[] = [];
    for (let i = 0; i < n; i++) {
      const a = await TestAgent.connect(t.baseUrl, t.adminToken);
      opened.push(a);
      await a.hello({ capacity });
      list.push(a);
    }
    return list;
  }

  async function create(body: object): Promise<Sandbox> {
    return bodyOf(await t.api().post('/v1/sandboxes').set(t.admin()).send({ tenantId, ...body }).expect(201));
  }

  itIf(!skip)('bin-packs onto the fullest node, up to the overcommitted vCPUs and the real memory', async () => {
    const [a, b] = await agents(2, { vcpus: 2, memoryMiB: 2048 });
    const first = await create({ vcpus: 1, memoryMiB: 256 });
    const packed = [first, await create({ vcpus: 1, memoryMiB: 256 }), await create({ vcpus: 1, memoryMiB: 256 }), await create({ vcpus: 1, memoryMiB: 256 })];
    // Four 1-vCPU sandboxes on a 2-vCPU node: CPU overcommitted 2x.
    expect(new Set(packed.map((s) => s.nodeId))).toEqual(new Set([first.nodeId]));
    const full = first.nodeId === a.nodeId ? a : b;
    const other = full === a ? b : a;
    expect((await create({ vcpus: 1, memoryMiB: 256 })).nodeId).toBe(other.nodeId);
    // Memory is not overcommitted: 2048 MiB is the limit.
    expect((await create({ vcpus: 1, memoryMiB: 2048 })).nodeId).toBeNull();
    const node = await t.api().get(`/v1/nodes/${full.nodeId}`).set(t.admin()).expect(200);
    expect(node.body).toMatchObject({ capacity: { vcpus: 2, memoryMiB: 2048 }, allocated: { vcpus: 4, memoryMiB: 1024 }, sandboxCount: 4 });
    for (const s of bodyOf<Sandbox[]>(await t.api().get('/v1/sandboxes').set(t.admin()).expect(200))) {
      await t.api().delete(`/v1/sandboxes/${s.id}`).set(t.admin()).expect(202);
    }
  });

  itIf(!skip)('spreads replicas sharing an anti-affinity key over nodes, even when bin-packing', async () => {
    const nodes = await agents(3, { vcpus: 16, memoryMiB: 16384 });
    const sandboxes = t.app.get(SandboxesService);
    const replicas = await Promise.all(
      Array.from({ length: 6 }, () => sandboxes.create(ADMIN, { tenantId }, { antiAffinityKey: 'deployment-a' })),
    );
    const perNode = new Map<string, number>();
    for (const r of replicas) perNode.set(r.nodeId as string, (perNode.get(r.nodeId as string) ?? 0) + 1);
    expect([...perNode.keys()].sort()).toEqual(nodes.map((n) => n.nodeId).sort());
    expect([...perNode.values()]).toEqual([2, 2, 2]);
    // Without a key, bin-packing puts the next ones together.
    const loose = [await create({}), await create({})];
    expect(loose[0].nodeId).toBe(loose[1].nodeId);
  });

  itIf(!skip)("takes a node's new hello in place: new capacity, its bookings kept, a cordon kept, a returning node's sandboxes counted", async () => {
    const [a] = await agents(1, { vcpus: 2, memoryMiB: 4096 });
    const placed = [await create({ vcpus: 1, memoryMiB: 256 }), await create({ vcpus: 1, memoryMiB: 256 })];
    expect(placed.map((s) => s.nodeId)).toEqual([a.nodeId, a.nodeId]);
    // Half the vCPUs: 2 offered (2x overcommit), 2 booked, so nothing more fits.
    await a.hello({ capacity: { vcpus: 1, memoryMiB: 4096 } });
    const waiting = await create({ vcpus: 1, memoryMiB: 256 });
    expect(waiting.nodeId).toBeNull();
    // More vCPUs: the pending one is placed on the hello, the next create fits at once.
    await a.hello({ capacity: { vcpus: 3, memoryMiB: 4096 } });
    await eventually(async () => expect(bodyOf<Sandbox>(await t.api().get(`/v1/sandboxes/${waiting.id}`).set(t.admin()).expect(200)).nodeId).toBe(a.nodeId));
    expect((await create({ vcpus: 1, memoryMiB: 256 })).nodeId).toBe(a.nodeId);
    // A cordoned node saying hello stays cordoned.
    await t.api().post(`/v1/nodes/${a.nodeId}/cordon`).set(t.admin()).expect(200);
    await a.hello({ capacity: { vcpus: 64, memoryMiB: 65536 } });
    expect((await create({ vcpus: 1, memoryMiB: 256 })).nodeId).toBeNull();
    // Uncordoned, it gets the one left pending: five 1-vCPU sandboxes on it.
    await t.api().post(`/v1/nodes/${a.nodeId}/uncordon`).set(t.admin()).expect(200);
    // Down (a create meanwhile rebuilds the index without it and waits), then back with its five
    // sandboxes: the index must count them (5 of 6 offered vCPUs), so only the waiting one fits.
    a.close();
    await eventually(async () => expect(bodyOf<{ state: string }>(await t.api().get(`/v1/nodes/${a.nodeId}`).set(t.admin()).expect(200)).state).toBe('down'));
    const meanwhile = await create({ vcpus: 1, memoryMiB: 256 });
    expect(meanwhile.nodeId).toBeNull();
    const back = await TestAgent.connect(t.baseUrl, t.adminToken, a.nodeId);
    opened.push(back);
    await back.hello({ capacity: { vcpus: 3, memoryMiB: 4096 } });
    await eventually(async () => expect(bodyOf<Sandbox>(await t.api().get(`/v1/sandboxes/${meanwhile.id}`).set(t.admin()).expect(200)).nodeId).toBe(a.nodeId));
    expect((await create({ vcpus: 1, memoryMiB: 256 })).nodeId).toBeNull();
  });
});
