import { beforeEach, describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { SchedulerService } from '../../src/scheduler/scheduler.service';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';
import { closeAfterEachTest, connectDashboard } from './support/opened';
import { AGENT_SIZING, TestAgent } from './support/test-agent';

interface Sandbox {
  id: string;
  nodeId: string | null;
  state: string;
  pendingReason: { code: string; message: string } | null;
  updatedAt: string;
}

describe.each(DATABASES)('room on nodes and pending sandboxes, on $label', ({ kind, skip }) => {
  let t: TestApp;
  const closeAfterTest = closeAfterEachTest();

  beforeEach(async () => {
    if (skip) return;
    t = closeAfterTest(await startApp(kind));
  });

  async function connect(): Promise<TestAgent> {
    return closeAfterTest(await TestAgent.connect(t.baseUrl, t.adminToken));
  }

  async function agent(capacity: { vcpus: number; memoryMiB: number }, labels?: Record<string, string>): Promise<TestAgent> {
    const a = await connect();
    await a.hello({ capacity });
    if (labels) await t.api().patch(`/v1/nodes/${a.nodeId}`).set(t.admin()).send({ labels }).expect(200);
    return a;
  }

  const create = async (body: object): Promise<Sandbox> => bodyOf(await t.api().post('/v1/sandboxes').set(t.admin()).send(body).expect(201));
  const get = async (id: string): Promise<Sandbox> => bodyOf(await t.api().get(`/v1/sandboxes/${id}`).set(t.admin()).expect(200));
  const node = async (id: string): Promise<unknown> => (await t.api().get(`/v1/nodes/${id}`).set(t.admin()).expect(200)).body;

  describe('why a sandbox is pending', () => {
    itIf(!skip)('says no node is ready, then that none is big enough, and places it by itself once one is', async () => {
      const big = await create({ vcpus: 4, memoryMiB: 512 });
      expect(big).toMatchObject({ state: 'pending', nodeId: null, pendingReason: { code: 'NO_READY_NODE', message: 'no node is ready' } });

      await agent({ vcpus: 2, memoryMiB: 4096 });
      await eventually(async () =>
        expect((await get(big.id)).pendingReason).toEqual({ code: 'INSUFFICIENT_VCPUS', message: 'no ready node has 4 free vCPUs; largest free: 2' }),
      );
      // The list shows it too.
      const listed = bodyOf<Sandbox[]>(await t.api().get('/v1/sandboxes?state=pending').set(t.admin()).expect(200));
      expect(listed.find((s) => s.id === big.id)?.pendingReason?.code).toBe('INSUFFICIENT_VCPUS');

      const roomy = await agent({ vcpus: 8, memoryMiB: 8192 });
      const placed = await eventually(async () => {
        const s = await get(big.id);
        expect(s.nodeId).toBe(roomy.nodeId);
        return s;
      });
      expect(placed.pendingReason).toBeNull();
      await roomy.desiredWhere((ids) => ids.includes(big.id));
    });

    itIf(!skip)('a pending sandbox deleted before it was placed answers stopped, with no reason left', async () => {
      const waiting = await create({ vcpus: 1, memoryMiB: 256 });
      expect(waiting.pendingReason?.code).toBe('NO_READY_NODE');
      const deleted = bodyOf<Sandbox>(await t.api().delete(`/v1/sandboxes/${waiting.id}`).set(t.admin()).expect(202));
      expect(deleted).toMatchObject({ state: 'stopped', pendingReason: null });
    });

    itIf(!skip)('names the labels no ready node carries', async () => {
      await agent({ vcpus: 8, memoryMiB: 8192 }, { tier: 'cpu' });
      const gpu = await create({ vcpus: 1, memoryMiB: 256, nodeSelector: { tier: 'gpu' } });
      expect(gpu.pendingReason).toEqual({ code: 'NO_MATCHING_NODE', message: 'no ready node carries the label tier=gpu' });
      const labelled = await agent({ vcpus: 8, memoryMiB: 8192 }, { tier: 'gpu' });
      await eventually(async () => expect(await get(gpu.id)).toMatchObject({ nodeId: labelled.nodeId, pendingReason: null }));
    });

    itIf(!skip)('a delete that frees room places the waiting sandbox and clears its reason', async () => {
      const node = await agent({ vcpus: 4, memoryMiB: 1024 });
      const first = await create({ vcpus: 1, memoryMiB: 768 });
      expect(first).toMatchObject({ nodeId: node.nodeId, pendingReason: null });
      const second = await create({ vcpus: 1, memoryMiB: 512 });
      expect(second.pendingReason).toEqual({ code: 'INSUFFICIENT_MEMORY', message: 'no ready node has 512 MiB free; largest free: 256 MiB' });

      await t.api().delete(`/v1/sandboxes/${first.id}`).set(t.admin()).expect(202);
      await eventually(async () => expect(await get(second.id)).toMatchObject({ nodeId: node.nodeId, pendingReason: null }));
    });

    itIf(!skip)('is written again only when it changed', async () => {
      await agent({ vcpus: 2, memoryMiB: 4096 });
      const waiting = await create({ vcpus: 4, memoryMiB: 256 });
      const before = await get(waiting.id);
      expect(before.pendingReason?.code).toBe('INSUFFICIENT_VCPUS');
      // A retry that finds the fleet as it was leaves the row alone.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await t.app.get(SchedulerService).placePending();
      expect((await get(waiting.id)).updatedAt).toBe(before.updatedAt);
      // One that finds less room says so.
      await create({ vcpus: 1, memoryMiB: 256 });
      await t.app.get(SchedulerService).placePending();
      const after = await get(waiting.id);
      expect(after.pendingReason?.message).toBe('no ready node has 4 free vCPUs; largest free: 1');
      expect(Date.parse(after.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt));
    });

    itIf(!skip)('dashboards see the reason change and clear as it happens', async () => {
      const pushed: Sandbox[] = [];
      closeAfterTest(await connectDashboard(t, (socket) => socket.on('sandbox:updated', (sandbox: Sandbox) => pushed.push(sandbox))));
      const waiting = await create({ vcpus: 2, memoryMiB: 256 });
      await eventually(() => Promise.resolve(expect(pushed.at(-1)).toMatchObject({ id: waiting.id, pendingReason: { code: 'NO_READY_NODE' } })));
      await agent({ vcpus: 1, memoryMiB: 4096 });
      await eventually(() => Promise.resolve(expect(pushed.at(-1)).toMatchObject({ id: waiting.id, pendingReason: { code: 'INSUFFICIENT_VCPUS' } })));
      const roomy = await agent({ vcpus: 4, memoryMiB: 4096 });
      await eventually(() => Promise.resolve(expect(pushed.at(-1)).toMatchObject({ id: waiting.id, nodeId: roomy.nodeId, pendingReason: null })));
    });
  });

  describe('what nodes offer to microVMs', () => {
    itIf(!skip)("a node's CPU factor lets 2 host CPUs hold more than two 1-vCPU sandboxes; memory with the overhead per sandbox is the limit", async () => {
      const agent = await connect();
      expect(await agent.hello({ capacity: { vcpus: 2, memoryMiB: 4096 }, ...AGENT_SIZING })).toMatchObject({ ok: true });
      const sandboxes: Sandbox[] = [];
      for (let i = 0; i < 8; i++) sandboxes.push(await create({ vcpus: 1, memoryMiB: 256 }));
      // (4096 − 1024) MiB offered / (256 + 160) MiB a sandbox: 7 fit, on 32 vCPUs offered.
      expect(sandboxes.slice(0, 7).every((s) => s.nodeId === agent.nodeId)).toBe(true);
      expect(sandboxes[7]).toMatchObject({
        nodeId: null,
        pendingReason: { code: 'INSUFFICIENT_MEMORY', message: 'no ready node has 416 MiB free (256 MiB + 160 MiB overhead); largest free: 160 MiB' },
      });
      expect(await node(agent.nodeId)).toMatchObject({
        capacity: { vcpus: 2, memoryMiB: 4096 },
        allocatable: { vcpus: 32, memoryMiB: 3072 },
        allocated: { vcpus: 7, memoryMiB: 7 * 416 },
        sandboxCount: 7,
        sandboxOverheadMiB: 160,
        cpuOvercommit: 16,
        memoryReserveMiB: 1024,
      });

      // The host gets more memory and says hello again: the waiting sandbox is placed by itself.
      await agent.hello({ capacity: { vcpus: 2, memoryMiB: 8192 }, ...AGENT_SIZING });
      await eventually(async () => expect(await get(sandboxes[7].id)).toMatchObject({ nodeId: agent.nodeId, pendingReason: null }));
      expect(await node(agent.nodeId)).toMatchObject({ allocatable: { vcpus: 32, memoryMiB: 7168 }, allocated: { vcpus: 8, memoryMiB: 8 * 416 } });
    });

    itIf(!skip)('a hello that raises the overhead per sandbox counts it for the sandboxes already there', async () => {
      const agent = await connect();
      await agent.hello({ capacity: { vcpus: 4, memoryMiB: 3072 }, ...AGENT_SIZING });
      for (let i = 0; i < 3; i++) expect((await create({ vcpus: 1, memoryMiB: 256 })).nodeId).toBe(agent.nodeId);
      // 2048 MiB offered; 3 × (256 + 160) = 1248 used: one more fits under 160 MiB overhead, none under 400.
      await agent.hello({ capacity: { vcpus: 4, memoryMiB: 3072 }, ...AGENT_SIZING, sandboxOverheadMiB: 400 });
      expect(await node(agent.nodeId)).toMatchObject({ allocated: { vcpus: 3, memoryMiB: 3 * 656 }, sandboxOverheadMiB: 400 });
      const refused = await create({ vcpus: 1, memoryMiB: 256 });
      expect(refused).toMatchObject({ nodeId: null, pendingReason: { code: 'INSUFFICIENT_MEMORY' } });
      expect(refused.pendingReason?.message).toBe('no ready node has 656 MiB free (256 MiB + 400 MiB overhead); largest free: 80 MiB');
    });

    itIf(!skip)("does not offer what the node's warm pool holds, and shows the pool", async () => {
      const agent = await connect();
      const warmPool = [{ vcpus: 1, memoryMiB: 256, count: 2 }];
      expect(await agent.hello({ capacity: { vcpus: 2, memoryMiB: 4096 }, ...AGENT_SIZING, warmPool })).toMatchObject({ ok: true });
      // (4096 − 1024 − 2 × 416) MiB and 32 − 2 vCPUs offered: 5 sandboxes of 416 MiB fit, not 7.
      expect(await node(agent.nodeId)).toMatchObject({ allocatable: { vcpus: 30, memoryMiB: 2240 }, warmPool });
      const sandboxes: Sandbox[] = [];
      for (let i = 0; i < 6; i++) sandboxes.push(await create({ vcpus: 1, memoryMiB: 256 }));
      expect(sandboxes.slice(0, 5).every((s) => s.nodeId === agent.nodeId)).toBe(true);
      expect(sandboxes[5]).toMatchObject({ nodeId: null, pendingReason: { code: 'INSUFFICIENT_MEMORY' } });
    });

    itIf(!skip)("an older agent's hello, without the new fields, is accepted and offers its real capacity times MOAT_CPU_OVERCOMMIT", async () => {
      const agent = await connect();
      expect(await agent.hello({ capacity: { vcpus: 2, memoryMiB: 8192 } })).toMatchObject({ ok: true });
      expect(await node(agent.nodeId)).toMatchObject({
        capacity: { vcpus: 2, memoryMiB: 8192 },
        allocatable: { vcpus: 2, memoryMiB: 8192 },
        sandboxOverheadMiB: 0,
        cpuOvercommit: 1,
        memoryReserveMiB: 0,
        warmPool: [],
      });
      expect((await create({ vcpus: 1, memoryMiB: 256 })).nodeId).toBe(agent.nodeId);
      expect((await create({ vcpus: 1, memoryMiB: 256 })).nodeId).toBe(agent.nodeId);
      expect((await create({ vcpus: 1, memoryMiB: 256 })).pendingReason).toEqual({
        code: 'INSUFFICIENT_VCPUS',
        message: 'no ready node has 1 free vCPU; largest free: 0',
      });
    });
  });
});
