import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, jest } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { Transactions } from '../../src/database/transactions.service';
import { NodeLifecycleHooks } from '../../src/nodes/node-lifecycle.hooks';
import { NodesService } from '../../src/nodes/nodes.service';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';
import { TestAgent } from './support/test-agent';

interface Node {
  id: string;
  state: string;
  labels: Record<string, string>;
  sandboxCount: number;
  allocated: { vcpus: number; memoryMiB: number };
}
interface Sandbox {
  id: string;
  nodeId: string | null;
  state: string;
}

const HEARTBEAT_MS = 100;

describe.each(DATABASES)('nodes on $label', ({ kind, skip }) => {
  let t: TestApp;
  let ops: { id: string };
  let opened: { close(): unknown }[] = [];

  beforeAll(async () => {
    if (skip) return;
    // Short liveness timeouts, so that a silent node is noticed within a test.
    t = await startApp(kind, { MOAT_NODE_HEARTBEAT_TTL_MS: '400', MOAT_NODE_GRACE_MS: '200' });
    const quota = { maxSandboxes: 1000, maxVcpus: 1000, maxMemoryMiB: 10_000_000 };
    ops = bodyOf(await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'ops', quota }).expect(201));
  });
  afterEach(async () => {
    opened.forEach((o) => o.close());
    opened = [];
    if (skip) return;
    // Each test starts with no node up and no sandbox, so placements are predictable.
    await eventually(async () => {
      const nodes = bodyOf<Node[]>(await t.api().get('/v1/nodes').set(t.admin()).expect(200));
      expect(nodes.filter((n) => n.state !== 'down')).toEqual([]);
    });
    for (const s of bodyOf<Sandbox[]>(await t.api().get('/v1/sandboxes').set(t.admin()).expect(200))) {
      await t.api().delete(`/v1/sandboxes/${s.id}`).set(t.admin()).expect(202);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  async function agent(
    opts: { token?: string; nodeId?: string; capacity?: { vcpus: number; memoryMiB: number } } = {},
  ): Promise<TestAgent> {
    const a = await TestAgent.connect(t.baseUrl, opts.token ?? t.adminToken, opts.nodeId);
    opened.push(a);
    expect(await a.hello({ capacity: opts.capacity ?? { vcpus: 8, memoryMiB: 8192 } })).toMatchObject({ ok: true });
    a.startHeartbeats(HEARTBEAT_MS);
    return a;
  }

  async function node(id: string): Promise<Node> {
    return bodyOf(await t.api().get(`/v1/nodes/${id}`).set(t.admin()).expect(200));
  }

  async function sandbox(id: string): Promise<Sandbox> {
    return bodyOf(await t.api().get(`/v1/sandboxes/${id}`).set(t.admin()).expect(200));
  }

  async function createSandbox(body: object = {}): Promise<Sandbox> {
    return bodyOf(await t.api().post('/v1/sandboxes').set(t.admin()).send({ tenantId: ops.id, ...body }).expect(201));
  }

  itIf(!skip)('joins a node with a single-use token; the node then authenticates with its own credential only', async () => {
    const tenant = bodyOf<{ apiKey: string }>(await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'joiner' }).expect(201));
    await t.api().post('/v1/nodes/join-tokens').set({ Authorization: `Bearer ${tenant.apiKey}` }).send({}).expect(403);
    const issued = await t.api().post('/v1/nodes/join-tokens').set(t.admin()).send({ labels: { zone: 'a' } }).expect(201);
    expect(issued.body).toEqual({ id: expect.any(String), token: expect.stringMatching(/^moatj_/), expiresAt: expect.any(String) });
    const token = bodyOf<{ token: string; expiresAt: string }>(issued);
    expect(Date.parse(token.expiresAt) - Date.now()).toBeGreaterThan(3500_000);

    const nodeId = randomUUID();
    const joined = await t.api().post('/v1/nodes/join').send({ token: token.token, nodeId, name: 'host-a' }).expect(201);
    expect(joined.body).toEqual({ nodeId, credential: expect.stringMatching(/^moatn_/) });
    const { credential } = bodyOf<{ credential: string }>(joined);
    // Single use, also for another node.
    const again = await t.api().post('/v1/nodes/join').send({ token: token.token, nodeId: randomUUID(), name: 'x' }).expect(401);
    expect(again.body.error.code).toBe('UNAUTHENTICATED');
    await t.api().post('/v1/nodes/join').send({ token: 'moatj_forged', nodeId: randomUUID(), name: 'x' }).expect(401);

    // The credential works for that node id only; the join token is no agent credential.
    await expect(TestAgent.connect(t.baseUrl, credential, randomUUID())).rejects.toThrow(/unauthenticated/);
    await expect(TestAgent.connect(t.baseUrl, token.token, nodeId)).rejects.toThrow(/unauthenticated/);
    const a = await agent({ token: credential, nodeId });
    expect(await node(a.nodeId)).toMatchObject({ state: 'ready', labels: { zone: 'a' }, sandboxCount: 0 });

    // A second token cannot take over a node that has joined.
    const other = bodyOf<{ token: string }>(await t.api().post('/v1/nodes/join-tokens').set(t.admin()).send({}).expect(201));
    await t.api().post('/v1/nodes/join').send({ token: other.token, nodeId, name: 'impostor' }).expect(409);

    const audit = bodyOf<{ items: { actor: object; action: string; result: string; targetId: string }[] }>(
      await t.api().get(`/v1/audit?action=node.join&targetId=${nodeId}`).set(t.admin()).expect(200),
    );
    expect(audit.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ actor: { kind: 'node', id: nodeId }, result: 'success' }),
        expect.objectContaining({ actor: { kind: 'node', id: nodeId }, result: 'failure' }),
      ]),
    );
  });

  itIf(!skip)('marks a silent node down and its sandboxes unknown, never places them twice, and resumes it', async () => {
    const a = await agent();
    const s = await createSandbox();
    expect(s.nodeId).toBe(a.nodeId);
    await a.desiredWhere((ids) => ids.includes(s.id));
    a.status({ id: s.id, state: 'running', timings: [] });
    await eventually(async () => expect((await sandbox(s.id)).state).toBe('running'));

    a.stopHeartbeats();
    await eventually(async () => expect((await node(a.nodeId)).state).toBe('down'));
    expect(await sandbox(s.id)).toMatchObject({ state: 'unknown', nodeId: a.nodeId });
    // Still counted on its node, and not placed anywhere else when room appears.
    expect((await node(a.nodeId)).sandboxCount).toBe(1);
    const b = await agent();
    await b.desiredWhere((ids) => ids.length === 0);
    expect(await sandbox(s.id)).toMatchObject({ state: 'unknown', nodeId: a.nodeId });

    // Heartbeats again on the same connection: up, the full desired set again, state from the node.
    const before = a.desired.length;
    a.startHeartbeats(HEARTBEAT_MS, () => [s.id]);
    await eventually(async () => expect((await node(a.nodeId)).state).toBe('ready'));
    await eventually(() => Promise.resolve(expect(a.desired.length).toBeGreaterThan(before)));
    expect(a.desired.at(-1)?.sandboxes.map((x) => x.id)).toEqual([s.id]);
    a.status({ id: s.id, state: 'running', timings: [] });
    await eventually(async () => expect((await sandbox(s.id)).state).toBe('running'));
  });

  itIf(!skip)('a heartbeat chunk whose transaction fails does not cost the nodes another chunk revived', async () => {
    const a = await agent();
    a.stopHeartbeats();
    await eventually(async () => expect((await node(a.nodeId)).state).toBe('down'));
    // A chunk of unknown ids first (its transaction fails), then the silent node in a chunk of its own.
    const beats = new Map<string, Record<string, never>>(Array.from({ length: 500 }, () => [randomUUID(), {}]));
    beats.set(a.nodeId, {});
    const transactions = t.app.get(Transactions);
    jest.spyOn(transactions, 'run').mockRejectedValueOnce(new Error('database unavailable'));
    try {
      expect(await t.app.get(NodesService).recordHeartbeats(beats)).toEqual({ revived: [a.nodeId], containerdChanged: [] });
    } finally {
      jest.restoreAllMocks();
    }
    expect((await node(a.nodeId)).state).toBe('ready');
  });

  itIf(!skip)('fences a node on reconnect: what was deleted meanwhile is not in its desired set', async () => {
    const a = await agent();
    const keep = await createSandbox();
    const replaced = await createSandbox();
    await a.desiredWhere((ids) => ids.length === 2);
    a.close();
    await eventually(async () => expect((await node(a.nodeId)).state).toBe('down'));
    expect((await sandbox(replaced.id)).state).toBe('unknown');
    // Meanwhile it is replaced elsewhere: the old one is deleted.
    await t.api().delete(`/v1/sandboxes/${replaced.id}`).set(t.admin()).expect(202);

    const back = await agent({ nodeId: a.nodeId });
    const desired = await back.desiredWhere((ids) => ids.length > 0);
    expect(desired.sandboxes.map((x) => x.id)).toEqual([keep.id]);
    // The node stops it and reports it gone; then it is forgotten.
    back.status({ id: replaced.id, state: 'gone', timings: [] });
    await eventually(() => t.api().get(`/v1/sandboxes/${replaced.id}`).set(t.admin()).expect(404));
  });

  itIf(!skip)('cordons, uncordons and drains: unschedulable nodes get nothing new', async () => {
    const draining: string[] = [];
    t.app.get(NodeLifecycleHooks).register({ nodeDraining: (id) => Promise.resolve(void draining.push(id)) });
    const a = await agent();
    const b = await agent();

    const cordoned = await t.api().post(`/v1/nodes/${a.nodeId}/cordon`).set(t.admin()).expect(200);
    expect(cordoned.body).toMatchObject({ id: a.nodeId, state: 'cordoned' });
    const placed = [await createSandbox(), await createSandbox(), await createSandbox()];
    expect(placed.map((s) => s.nodeId)).toEqual([b.nodeId, b.nodeId, b.nodeId]);

    const uncordoned = await t.api().post(`/v1/nodes/${a.nodeId}/uncordon`).set(t.admin()).expect(200);
    expect(uncordoned.body.state).toBe('ready');
    expect((await createSandbox()).nodeId).toBe(a.nodeId);

    const drained = await t.api().post(`/v1/nodes/${b.nodeId}/drain`).set(t.admin()).expect(200);
    expect(drained.body).toMatchObject({ state: 'draining', sandboxCount: 3 });
    await eventually(() => Promise.resolve(expect(draining).toEqual([b.nodeId])));
    expect((await createSandbox()).nodeId).toBe(a.nodeId);

    // A cordoned node that goes away and comes back stays cordoned.
    await t.api().post(`/v1/nodes/${a.nodeId}/cordon`).set(t.admin()).expect(200);
    a.close();
    await eventually(async () => expect((await node(a.nodeId)).state).toBe('down'));
    await agent({ nodeId: a.nodeId });
    expect((await node(a.nodeId)).state).toBe('cordoned');
    expect((await createSandbox()).nodeId).toBeNull();
    await t.api().post(`/v1/nodes/${randomUUID()}/cordon`).set(t.admin()).expect(404);
  });

  itIf(!skip)('places by node selector; relabelling a node places what waited for the labels', async () => {
    const a = await agent();
    const b = await agent();
    const labelled = await t.api().patch(`/v1/nodes/${b.nodeId}`).set(t.admin()).send({ labels: { zone: 'b' } }).expect(200);
    expect(labelled.body.labels).toEqual({ zone: 'b' });
    expect((await createSandbox({ nodeSelector: { zone: 'b' } })).nodeId).toBe(b.nodeId);
    expect((await createSandbox({ nodeSelector: { zone: 'b' } })).nodeId).toBe(b.nodeId);

    const gpu = await createSandbox({ nodeSelector: { gpu: 'yes' } });
    expect(gpu).toMatchObject({ nodeId: null, state: 'pending' });
    await t.api().patch(`/v1/nodes/${a.nodeId}`).set(t.admin()).send({ labels: { gpu: 'yes' } }).expect(200);
    await a.desiredWhere((ids) => ids.includes(gpu.id));
    expect((await sandbox(gpu.id)).nodeId).toBe(a.nodeId);
    await t.api().patch(`/v1/nodes/${a.nodeId}`).set(t.admin()).send({ labels: { '': 'x' } }).expect(400);
  });

  itIf(!skip)('lists sandboxes by node, state and tenant', async () => {
    const a = await agent();
    const b = await agent();
    const onA = await createSandbox();
    const onB = await createSandbox();
    expect([onA.nodeId, onB.nodeId].sort()).toEqual([a.nodeId, b.nodeId].sort());
    const owner = onA.nodeId === a.nodeId ? a : b;
    const byNode = bodyOf<Sandbox[]>(await t.api().get(`/v1/sandboxes?nodeId=${owner.nodeId}`).set(t.admin()).expect(200));
    expect(byNode.map((s) => s.id)).toEqual([onA.id]);
    const byTenant = bodyOf<Sandbox[]>(await t.api().get(`/v1/sandboxes?tenantId=${ops.id}&state=pending`).set(t.admin()).expect(200));
    expect(byTenant.map((s) => s.id).sort()).toEqual([onA.id, onB.id].sort());
    await t.api().get('/v1/sandboxes?nodeId=nope').set(t.admin()).expect(400);
  });

  itIf(!skip)('resumes a node agent after a control-plane restart with nothing lost', async () => {
    const a = await agent();
    const s = await createSandbox();
    await a.desiredWhere((ids) => ids.includes(s.id));
    a.status({ id: s.id, state: 'running', timings: [] });
    await eventually(async () => expect((await sandbox(s.id)).state).toBe('running'));

    await t.restart();
    a.close();
    // A graceful shutdown does not mark the nodes down (they did not fail).
    expect(await sandbox(s.id)).toMatchObject({ state: 'running', nodeId: a.nodeId });
    const back = await agent({ nodeId: a.nodeId });
    const desired = await back.desiredWhere((ids) => ids.length > 0);
    expect(desired.sandboxes.map((x) => x.id)).toEqual([s.id]);
    expect(await node(a.nodeId)).toMatchObject({ state: 'ready', sandboxCount: 1 });
  });
});
