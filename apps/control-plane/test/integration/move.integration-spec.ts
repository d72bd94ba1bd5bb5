import type { AckReply, DesiredSandbox, ErrorInfo, SandboxSendReply } from '@moat/proto';
import { afterAll, afterEach, beforeAll, describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';
import { awaitNodesDownAndDeleteSandboxes, bearer } from './support/opened';
import { AGENT_SIZING, TestAgent } from './support/test-agent';

interface Sandbox {
  id: string;
  nodeId: string | null;
  state: string;
  events: { at: string; state: string; reason?: ErrorInfo }[];
}

const SAVED_BYTES = 1_500_000_000;
const TARGET = { host: '10.20.0.2', port: 41_000 };

describe.each(DATABASES)('waking a hibernated sandbox on another node on $label', ({ kind, skip }) => {
  let t: TestApp;
  let tenant: { id: string; apiKey: string };
  let agents: TestAgent[] = [];
  const as = bearer;

  beforeAll(async () => {
    if (skip) return;
    t = await startApp(kind);
    tenant = bodyOf(await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'wanderer' }).expect(201));
  });
  afterEach(async () => {
    agents.forEach((agent) => agent.close());
    agents = [];
    if (!skip) await awaitNodesDownAndDeleteSandboxes(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function agent(capacity = { vcpus: 4, memoryMiB: 8192 }): Promise<TestAgent> {
    const connected = await TestAgent.connect(t.baseUrl, t.adminToken);
    agents.push(connected);
    expect(await connected.hello({ capacity, ...AGENT_SIZING })).toMatchObject({ ok: true });
    return connected;
  }

  async function reaches(id: string, expected: Partial<Sandbox>): Promise<Sandbox> {
    return eventually(async () => {
      const found = bodyOf<Sandbox>(await t.api().get(`/v1/sandboxes/${id}`).set(as(tenant)).expect(200));
      expect(found).toMatchObject(expected);
      return found;
    });
  }

  /** A sandbox hibernated on `node` (the only node connected while it is created). */
  async function hibernatedOn(node: TestAgent, size = { vcpus: 2, memoryMiB: 1024 }): Promise<Sandbox> {
    const created = bodyOf<Sandbox>(await t.api().post('/v1/sandboxes').set(as(tenant)).send({ rootfs: 'block', ...size }).expect(201));
    expect(created.nodeId).toBe(node.nodeId);
    await node.desiredWhere((ids) => ids.includes(created.id));
    node.status({ id: created.id, state: 'running', timings: [] });
    await reaches(created.id, { state: 'running' });
    await t.api().post(`/v1/sandboxes/${created.id}/hibernate`).set(as(tenant)).expect(202);
    await desiredEntry(node, created.id, (entry) => entry?.hibernated === true);
    node.status({ id: created.id, state: 'hibernated', timings: [], savedBytes: SAVED_BYTES });
    return reaches(created.id, { state: 'hibernated', nodeId: node.nodeId });
  }

  /** The sandbox's entry in the node's latest desired set (undefined: not in it), once `predicate` holds for it. */
  async function desiredEntry(node: TestAgent, id: string, predicate: (entry: DesiredSandbox | undefined) => boolean): Promise<DesiredSandbox | undefined> {
    const latest = await node.desiredWhere(() => predicate(node.desired.at(-1)?.sandboxes.find((s) => s.id === id)));
    return latest.sandboxes.find((s) => s.id === id);
  }

  itIf(!skip)('moves the saved state from a cordoned node to another and wakes it there', async () => {
    const a = await agent();
    const sleeper = await hibernatedOn(a);
    const b = await agent();
    b.onReceive = () => ({ ok: true, result: TARGET });
    let finishSend: (reply: AckReply<SandboxSendReply>) => void = () => undefined;
    a.onSend = () => new Promise((resolve) => (finishSend = resolve));
    await t.api().post(`/v1/nodes/${a.nodeId}/cordon`).set(t.admin()).expect(200);

    const accepted = bodyOf<Sandbox>(await t.api().post(`/v1/sandboxes/${sleeper.id}/wake`).set(as(tenant)).expect(202));
    expect(accepted).toMatchObject({ state: 'waking', nodeId: a.nodeId });
    expect(accepted.events.at(-1)?.reason?.code).toBe('MOVING');
    await eventually(() => {
      expect(a.sendRequests).toHaveLength(1);
      return Promise.resolve();
    });
    const [receive] = b.receiveRequests;
    const [send] = a.sendRequests;
    expect(receive).toMatchObject({ sandboxId: sleeper.id });
    expect(Buffer.from(receive.key, 'base64')).toHaveLength(32);
    expect(send).toEqual({ ...receive, to: TARGET });

    // While its saved state moves: waking, still on its node, which keeps it hibernated; a second wake starts no second move.
    expect(bodyOf<Sandbox>(await t.api().post(`/v1/sandboxes/${sleeper.id}/wake`).set(as(tenant)).expect(202))).toMatchObject({ state: 'waking', nodeId: a.nodeId });
    await reaches(sleeper.id, { state: 'waking', nodeId: a.nodeId });
    expect((await desiredEntry(a, sleeper.id, (entry) => entry !== undefined))?.hibernated).toBe(true);
    expect(b.receiveRequests).toHaveLength(1);
    // The key is nowhere in what the API shows.
    const shown = JSON.stringify(bodyOf(await t.api().get(`/v1/sandboxes/${sleeper.id}`).set(as(tenant)).expect(200)));
    expect(shown).not.toContain(receive.key);

    finishSend({ ok: true, result: { bytes: SAVED_BYTES } });
    await reaches(sleeper.id, { nodeId: b.nodeId, state: 'waking' });
    expect((await desiredEntry(b, sleeper.id, (entry) => entry !== undefined))?.hibernated).toBeUndefined();
    await desiredEntry(a, sleeper.id, (entry) => entry === undefined);
    b.status({ id: sleeper.id, state: 'running', timings: [] });
    await reaches(sleeper.id, { nodeId: b.nodeId, state: 'running' });
    expect(b.receiveRequests).toHaveLength(1);

    const audit = bodyOf<{ items: { action: string; status: number; result: string; message: string | null }[] }>(
      await t.api().get(`/v1/audit?targetId=${sleeper.id}&action=sandbox.move`).set(as(tenant)).expect(200),
    ).items;
    expect(audit).toEqual([
      expect.objectContaining({ result: 'success', message: `from node ${a.nodeId} to node ${b.nodeId}: ${SAVED_BYTES} bytes` }),
    ]);
    expect(JSON.stringify(audit)).not.toContain(receive.key);
  });

  itIf(!skip)('refuses to wake a sandbox whose saved state is on a node that is down', async () => {
    const a = await agent();
    const sleeper = await hibernatedOn(a);
    const b = await agent();
    a.close();
    await eventually(async () => expect(bodyOf<{ state: string }>(await t.api().get(`/v1/nodes/${a.nodeId}`).set(t.admin()).expect(200)).state).toBe('down'));

    const refused = await t.api().post(`/v1/sandboxes/${sleeper.id}/wake`).set(as(tenant)).expect(409);
    const name = `node-${a.nodeId.slice(0, 8)}`;
    expect(refused.body.error).toEqual({
      code: 'SAVED_STATE_UNREACHABLE',
      message: `the saved state of sandbox ${sleeper.id} is on node ${name}, which is down; it can wake when ${name} is back`,
    });
    await reaches(sleeper.id, { state: 'hibernated', nodeId: a.nodeId });
    expect(b.receiveRequests).toEqual([]);
  });

  itIf(!skip)('leaves the sandbox hibernated on its node when the move fails, with the reason; wake-on-use says so', async () => {
    const a = await agent();
    const sleeper = await hibernatedOn(a);
    const b = await agent();
    b.onReceive = () => ({ ok: true, result: TARGET });
    a.onSend = () => ({ ok: false, error: { code: 'MOVE_CONNECT_FAILED', message: 'the target did not answer' } });
    await t.api().post(`/v1/nodes/${a.nodeId}/cordon`).set(t.admin()).expect(200);

    await t.api().post(`/v1/sandboxes/${sleeper.id}/wake`).set(as(tenant)).expect(202);
    const failed = await reaches(sleeper.id, { state: 'hibernated', nodeId: a.nodeId });
    expect(failed.events.at(-1)).toMatchObject({
      state: 'hibernated',
      reason: { code: 'MOVE_FAILED', message: `sending from node ${a.nodeId}: MOVE_CONNECT_FAILED: the target did not answer` },
    });
    expect((await desiredEntry(a, sleeper.id, (entry) => entry !== undefined))?.hibernated).toBe(true);
    expect(b.desired.flatMap((d) => d.sandboxes).map((s) => s.id)).not.toContain(sleeper.id);
    // Nothing stays booked on the target.
    expect(bodyOf<{ allocated: { vcpus: number } }>(await t.api().get(`/v1/nodes/${b.nodeId}`).set(t.admin()).expect(200)).allocated.vcpus).toBe(0);

    // An exec wakes it the same way, and the move fails again.
    const exec = await t.api().post(`/v1/sandboxes/${sleeper.id}/exec`).set(as(tenant)).send({ command: ['true'] }).expect(502);
    expect(exec.body.error.code).toBe('WAKE_FAILED');
    expect(exec.body.error.message).toContain('MOVE_FAILED: sending from node');
    expect(b.receiveRequests).toHaveLength(2);

    const audit = bodyOf<{ items: { result: string; status: number }[] }>(
      await t.api().get(`/v1/audit?targetId=${sleeper.id}&action=sandbox.move`).set(as(tenant)).expect(200),
    ).items;
    expect(audit.map((e) => [e.result, e.status])).toEqual([
      ['failure', 502],
      ['failure', 502],
    ]);
  });

  itIf(!skip)('refuses a wake that fits neither on its full node nor on another, naming the largest free capacity', async () => {
    const a = await agent();
    const sleeper = await hibernatedOn(a);
    // Its node fills up while it sleeps: 8192 - 1024 reserved = 7168 MiB, less 6000 + 160 MiB.
    const filler = bodyOf<Sandbox>(await t.api().post('/v1/sandboxes').set(as(tenant)).send({ memoryMiB: 6000 }).expect(201));
    expect(filler.nodeId).toBe(a.nodeId);
    // The other has 2048 - 1024 reserved = 1024 MiB: not 1024 + 160.
    const b = await agent({ vcpus: 4, memoryMiB: 2048 });

    const refused = await t.api().post(`/v1/sandboxes/${sleeper.id}/wake`).set(as(tenant)).expect(409);
    expect(refused.body.error.code).toBe('INSUFFICIENT_RESOURCES');
    expect(refused.body.error.message).toBe(
      `sandbox ${sleeper.id} cannot wake on node node-${a.nodeId.slice(0, 8)}, which has no room for it ` +
        `(1184 MiB needed (1 × 1024 MiB + 160 MiB overhead), 1008 MiB free), nor on another: ` +
        'no ready node has 1184 MiB free (1024 MiB + 160 MiB overhead); largest free: 1024 MiB',
    );
    await reaches(sleeper.id, { state: 'hibernated', nodeId: a.nodeId });
    expect((await desiredEntry(a, sleeper.id, (entry) => entry !== undefined))?.hibernated).toBe(true);
    expect(b.receiveRequests).toEqual([]);
  });
});
