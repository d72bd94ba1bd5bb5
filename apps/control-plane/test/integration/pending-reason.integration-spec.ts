import { UI_NAMESPACE } from '@moat/proto';
import { io, type Socket } from 'socket.io-client';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SchedulerService } from '../../src/scheduler/scheduler.service';
import { bodyOf, DATABASES, eventually, startApp, type TestApp } from './support/harness';
import { TestAgent } from './support/test-agent';

interface Sandbox {
  id: string;
  nodeId: string | null;
  state: string;
  pendingReason: { code: string; message: string } | null;
  updatedAt: string;
}

describe.each(DATABASES)('why a sandbox is pending, on $label', ({ kind, skip }) => {
  let t: TestApp;
  let opened: TestAgent[] = [];
  let dashboards: Socket[] = [];
  const admin = (): Record<string, string> => ({ Authorization: `Bearer ${t.adminToken}` });
  const api = () => request(t.baseUrl);

  beforeEach(async () => {
    if (skip) return;
    t = await startApp(kind);
  });
  afterEach(async () => {
    opened.forEach((a) => a.close());
    opened = [];
    dashboards.forEach((s) => s.close());
    dashboards = [];
    await t?.close();
  });

  async function agent(capacity: { vcpus: number; memoryMiB: number }, labels?: Record<string, string>): Promise<TestAgent> {
    const a = await TestAgent.connect(t.baseUrl, t.adminToken);
    opened.push(a);
    await a.hello({ capacity });
    if (labels) await api().patch(`/v1/nodes/${a.nodeId}`).set(admin()).send({ labels }).expect(200);
    return a;
  }

  const create = async (body: object): Promise<Sandbox> => bodyOf(await api().post('/v1/sandboxes').set(admin()).send(body).expect(201));
  const get = async (id: string): Promise<Sandbox> => bodyOf(await api().get(`/v1/sandboxes/${id}`).set(admin()).expect(200));

  it.skipIf(skip)('says no node is ready, then that none is big enough, and places it by itself once one is', async () => {
    const big = await create({ vcpus: 4, memoryMiB: 512 });
    expect(big).toMatchObject({ state: 'pending', nodeId: null, pendingReason: { code: 'NO_READY_NODE', message: 'no node is ready' } });

    await agent({ vcpus: 2, memoryMiB: 4096 });
    await eventually(async () =>
      expect((await get(big.id)).pendingReason).toEqual({ code: 'INSUFFICIENT_VCPUS', message: 'no ready node has 4 free vCPUs; largest free: 2' }),
    );
    // The list shows it too.
    const listed = bodyOf<Sandbox[]>(await api().get('/v1/sandboxes?state=pending').set(admin()).expect(200));
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

  it.skipIf(skip)('names the labels no ready node carries', async () => {
    await agent({ vcpus: 8, memoryMiB: 8192 }, { tier: 'cpu' });
    const gpu = await create({ vcpus: 1, memoryMiB: 256, nodeSelector: { tier: 'gpu' } });
    expect(gpu.pendingReason).toEqual({ code: 'NO_MATCHING_NODE', message: 'no ready node carries the label tier=gpu' });
    const labelled = await agent({ vcpus: 8, memoryMiB: 8192 }, { tier: 'gpu' });
    await eventually(async () => expect(await get(gpu.id)).toMatchObject({ nodeId: labelled.nodeId, pendingReason: null }));
  });

  it.skipIf(skip)('a delete that frees room places the waiting sandbox and clears its reason', async () => {
    const node = await agent({ vcpus: 4, memoryMiB: 1024 });
    const first = await create({ vcpus: 1, memoryMiB: 768 });
    expect(first).toMatchObject({ nodeId: node.nodeId, pendingReason: null });
    const second = await create({ vcpus: 1, memoryMiB: 512 });
    expect(second.pendingReason).toEqual({ code: 'INSUFFICIENT_MEMORY', message: 'no ready node has 512 MiB free; largest free: 256 MiB' });

    await api().delete(`/v1/sandboxes/${first.id}`).set(admin()).expect(202);
    await eventually(async () => expect(await get(second.id)).toMatchObject({ nodeId: node.nodeId, pendingReason: null }));
  });

  it.skipIf(skip)('is written again only when it changed', async () => {
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

  it.skipIf(skip)('dashboards see the reason change and clear as it happens', async () => {
    const socket = io(`${t.baseUrl}${UI_NAMESPACE}`, { transports: ['websocket'], auth: { token: t.adminToken }, forceNew: true });
    dashboards.push(socket);
    const pushed: Sandbox[] = [];
    socket.on('sandbox:updated', (sandbox: Sandbox) => pushed.push(sandbox));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const waiting = await create({ vcpus: 2, memoryMiB: 256 });
    await eventually(() => Promise.resolve(expect(pushed.at(-1)).toMatchObject({ id: waiting.id, pendingReason: { code: 'NO_READY_NODE' } })));
    await agent({ vcpus: 1, memoryMiB: 4096 });
    await eventually(() => Promise.resolve(expect(pushed.at(-1)).toMatchObject({ id: waiting.id, pendingReason: { code: 'INSUFFICIENT_VCPUS' } })));
    const roomy = await agent({ vcpus: 4, memoryMiB: 4096 });
    await eventually(() => Promise.resolve(expect(pushed.at(-1)).toMatchObject({ id: waiting.id, nodeId: roomy.nodeId, pendingReason: null })));
  });
});
