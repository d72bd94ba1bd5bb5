import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bodyOf, DATABASES, eventually, startApp, type TestApp } from './support/harness';
import { TestAgent } from './support/test-agent';

interface Sandbox {
  id: string;
  nodeId: string | null;
  pendingReason: { code: string; message: string } | null;
}

/** What a current node agent says of itself on a QEMU host with the default settings. */
const AGENT_SIZING = { sandboxOverheadMiB: 160, cpuOvercommit: 16, memoryReserveMiB: 1024 };

describe.each(DATABASES)('what nodes offer to microVMs, on $label', ({ kind, skip }) => {
  let t: TestApp;
  let opened: TestAgent[] = [];
  const admin = (): Record<string, string> => ({ Authorization: `Bearer ${t.adminToken}` });
  const api = () => request(t.baseUrl);

  beforeEach(async () => {
    if (skip) return;
    t = await startApp(kind);
  });
  afterEach(async () => {
    opened.forEach((a) => a.close());
    opened = [];
    await t?.close();
  });

  async function connect(): Promise<TestAgent> {
    const a = await TestAgent.connect(t.baseUrl, t.adminToken);
    opened.push(a);
    return a;
  }
  const create = async (body: object): Promise<Sandbox> => bodyOf(await api().post('/v1/sandboxes').set(admin()).send(body).expect(201));
  const node = async (id: string): Promise<unknown> => (await api().get(`/v1/nodes/${id}`).set(admin()).expect(200)).body;

  it.skipIf(skip)("a node's CPU factor lets 2 host CPUs hold more than two 1-vCPU sandboxes; memory with the VMM overhead is the limit", async () => {
    const agent = await connect();
    expect(await agent.hello({ capacity: { vcpus: 2, memoryMiB: 4096 }, ...AGENT_SIZING })).toMatchObject({ ok: true });
    const sandboxes: Sandbox[] = [];
    for (let i = 0; i < 8; i++) sandboxes.push(await create({ vcpus: 1, memoryMiB: 256 }));
    // (4096 − 1024) MiB offered / (256 + 160) MiB a sandbox: 7 fit, on 32 vCPUs offered.
    expect(sandboxes.slice(0, 7).every((s) => s.nodeId === agent.nodeId)).toBe(true);
    expect(sandboxes[7]).toMatchObject({
      nodeId: null,
      pendingReason: { code: 'INSUFFICIENT_MEMORY', message: 'no ready node has 416 MiB free (256 MiB + 160 MiB VMM overhead); largest free: 160 MiB' },
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
    const last = await eventually(async () => {
      const s = bodyOf<Sandbox>(await api().get(`/v1/sandboxes/${sandboxes[7].id}`).set(admin()).expect(200));
      expect(s.nodeId).toBe(agent.nodeId);
      return s;
    });
    expect(last.pendingReason).toBeNull();
    expect(await node(agent.nodeId)).toMatchObject({ allocatable: { vcpus: 32, memoryMiB: 7168 }, allocated: { vcpus: 8, memoryMiB: 8 * 416 } });
  });

  it.skipIf(skip)('a hello that raises the overhead per sandbox counts it for the sandboxes already there', async () => {
    const agent = await connect();
    await agent.hello({ capacity: { vcpus: 4, memoryMiB: 3072 }, ...AGENT_SIZING });
    for (let i = 0; i < 3; i++) expect((await create({ vcpus: 1, memoryMiB: 256 })).nodeId).toBe(agent.nodeId);
    // 2048 MiB offered; 3 × (256 + 160) = 1248 used: one more fits under 160 MiB overhead, none under 400.
    await agent.hello({ capacity: { vcpus: 4, memoryMiB: 3072 }, ...AGENT_SIZING, sandboxOverheadMiB: 400 });
    expect(await node(agent.nodeId)).toMatchObject({ allocated: { vcpus: 3, memoryMiB: 3 * 656 }, sandboxOverheadMiB: 400 });
    const refused = await create({ vcpus: 1, memoryMiB: 256 });
    expect(refused).toMatchObject({ nodeId: null, pendingReason: { code: 'INSUFFICIENT_MEMORY' } });
    expect(refused.pendingReason?.message).toBe('no ready node has 656 MiB free (256 MiB + 400 MiB VMM overhead); largest free: 80 MiB');
  });

  it.skipIf(skip)("an older agent's hello, without the new fields, is accepted and offers its real capacity times MOAT_CPU_OVERCOMMIT", async () => {
    const agent = await connect();
    expect(await agent.hello({ capacity: { vcpus: 2, memoryMiB: 8192 } })).toMatchObject({ ok: true });
    expect(await node(agent.nodeId)).toMatchObject({
      capacity: { vcpus: 2, memoryMiB: 8192 },
      allocatable: { vcpus: 2, memoryMiB: 8192 },
      sandboxOverheadMiB: 0,
      cpuOvercommit: 1,
      memoryReserveMiB: 0,
    });
    expect((await create({ vcpus: 1, memoryMiB: 256 })).nodeId).toBe(agent.nodeId);
    expect((await create({ vcpus: 1, memoryMiB: 256 })).nodeId).toBe(agent.nodeId);
    expect((await create({ vcpus: 1, memoryMiB: 256 })).pendingReason).toEqual({
      code: 'INSUFFICIENT_VCPUS',
      message: 'no ready node has 1 free vCPU; largest free: 0',
    });
  });
});
