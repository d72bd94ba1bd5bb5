import type { DesiredSandbox, ErrorInfo } from '@moat/proto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';
import { TestAgent } from './support/test-agent';

interface SandboxEvent {
  at: string;
  state: string;
  reason?: ErrorInfo;
}
interface Sandbox {
  id: string;
  nodeId: string | null;
  state: string;
  error?: ErrorInfo;
  deploymentId: string | null;
  restartPolicy: { type: string; maxRestarts?: number; backoffSeconds?: number };
  restartCount: number;
  events: SandboxEvent[];
}
interface Node {
  id: string;
  state: string;
}

/** Long enough that an unknown node is seen before it goes down, short enough to see it go. */
const HEARTBEAT_TTL_MS = 3_000;
const GRACE_MS = 1_000;
const KILLED: ErrorInfo = { code: 'VMM_EXITED', message: 'the VMM was killed by signal 9 (SIGKILL)' };
const OOM: ErrorInfo = { code: 'VMM_OUT_OF_MEMORY', message: "the VMM outgrew its host cgroup's memory limit and the kernel's OOM killer killed it" };
const SILENT: ErrorInfo = { code: 'GUEST_UNRESPONSIVE', message: 'the guest agent did not answer 3 health checks in a row' };

describe.each(DATABASES)('sandbox lifecycle on $label', ({ kind, skip }) => {
  let t: TestApp;
  let tenantId: string;
  let opened: TestAgent[] = [];

  beforeAll(async () => {
    if (skip) return;
    t = await startApp(kind, {
      MOAT_NODE_HEARTBEAT_TTL_MS: String(HEARTBEAT_TTL_MS),
      MOAT_NODE_GRACE_MS: String(GRACE_MS),
      MOAT_RECONCILE_INTERVAL_MS: '100',
    });
    const quota = { maxSandboxes: 100, maxVcpus: 1000, maxMemoryMiB: 10_000_000 };
    tenantId = bodyOf<{ id: string }>(await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'lifecycle', quota }).expect(201)).id;
  });
  // Each test starts with no node up and no sandbox, so placements are predictable.
  afterEach(async () => {
    opened.forEach((a) => a.close());
    opened = [];
    if (skip) return;
    await eventually(async () => {
      const nodes = bodyOf<Node[]>(await t.api().get('/v1/nodes').set(t.admin()).expect(200));
      expect(nodes.filter((n) => n.state !== 'down')).toEqual([]);
    }, { timeout: 15_000 });
    // A test that failed half-way leaves no deployment making replicas for the next one.
    for (const d of bodyOf<{ id: string; state: string }[]>(await t.api().get('/v1/deployments').set(t.admin()).expect(200))) {
      if (d.state !== 'deleting') await t.api().delete(`/v1/deployments/${d.id}`).set(t.admin()).expect(202);
    }
    for (const s of bodyOf<Sandbox[]>(await t.api().get('/v1/sandboxes').set(t.admin()).expect(200))) {
      await t.api().delete(`/v1/sandboxes/${s.id}`).set(t.admin()).expect(202);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  async function agent(nodeId?: string): Promise<TestAgent> {
    const a = await TestAgent.connect(t.baseUrl, t.adminToken, nodeId);
    opened.push(a);
    expect(await a.hello()).toMatchObject({ ok: true });
    // Like a real node, it lists what it holds until it reports it gone.
    a.startHeartbeats(500, () => [...a.held]);
    return a;
  }

  async function createSandbox(body: object = {}): Promise<Sandbox> {
    return bodyOf(await t.api().post('/v1/sandboxes').set(t.admin()).send({ tenantId, ...body }).expect(201));
  }

  async function sandbox(id: string): Promise<Sandbox> {
    return bodyOf(await t.api().get(`/v1/sandboxes/${id}`).set(t.admin()).expect(200));
  }

  async function node(id: string): Promise<Node> {
    return bodyOf(await t.api().get(`/v1/nodes/${id}`).set(t.admin()).expect(200));
  }

  /** The sandbox as the latest desired set lists it, once that matches. */
  async function desiredWith(a: TestAgent, id: string, restartCount: number): Promise<DesiredSandbox> {
    const state = await a.desiredWhere(() => a.desired.at(-1)?.sandboxes.find((s) => s.id === id)?.restartCount === restartCount);
    return state.sandboxes.find((s) => s.id === id) as DesiredSandbox;
  }

  async function reaches(id: string, state: string, restartCount: number): Promise<Sandbox> {
    return eventually(async () => {
      const found = await sandbox(id);
      expect(found).toMatchObject({ state, restartCount });
      return found;
    });
  }

  itIf(!skip)('refuses a bad restartPolicy with 400 VALIDATION_FAILED, on sandboxes and templates', async () => {
    const bad = [
      { type: 'always' },
      { type: 'on-failure', maxRestarts: 101 },
      { type: 'on-failure', maxRestarts: -1 },
      { type: 'on-failure', backoffSeconds: 0 },
      { type: 'on-failure', backoffSeconds: 301 },
      { type: 'on-failure', backoffSeconds: 1.5 },
      { type: 'never', maxRestarts: 1 },
      { type: 'on-failure', jitter: true },
    ];
    for (const restartPolicy of bad) {
      const res = await t.api().post('/v1/sandboxes').set(t.admin()).send({ tenantId, restartPolicy }).expect(400);
      expect({ restartPolicy, body: res.body }).toEqual({ restartPolicy, body: { error: { code: 'VALIDATION_FAILED', message: expect.stringMatching(/^restartPolicy\./) } } });
      await t.api().post('/v1/templates').set(t.admin()).send({ tenantId, name: 'bad', vcpus: 1, memoryMiB: 128, restartPolicy }).expect(400);
    }
    expect(bodyOf<unknown[]>(await t.api().get('/v1/sandboxes').set(t.admin()).expect(200))).toEqual([]);

    const plain = await createSandbox();
    expect(plain).toMatchObject({ restartPolicy: { type: 'never' }, restartCount: 0 });
    const defaults = await createSandbox({ restartPolicy: { type: 'on-failure' } });
    expect(defaults.restartPolicy).toEqual({ type: 'on-failure', maxRestarts: 3, backoffSeconds: 1 });
    const template = bodyOf<{ restartPolicy: unknown }>(
      await t.api()
        .post('/v1/templates')
        .set(t.admin())
        .send({ tenantId, name: 'restarting', vcpus: 1, memoryMiB: 128, restartPolicy: { type: 'on-failure', maxRestarts: 5 } })
        .expect(201),
    );
    expect(template.restartPolicy).toEqual({ type: 'on-failure', maxRestarts: 5, backoffSeconds: 1 });
    // The OpenAPI document describes it exactly.
    const docs = bodyOf<{ components: { schemas: Record<string, { properties: Record<string, object>; required?: string[] }> } }>(
      await t.api().get('/docs-json').expect(200),
    );
    expect(docs.components.schemas.RestartPolicyRequestDto).toMatchObject({
      required: ['type'],
      properties: {
        type: { enum: ['never', 'on-failure'] },
        maxRestarts: { type: 'integer', minimum: 0, maximum: 100, default: 3 },
        backoffSeconds: { type: 'integer', minimum: 1, maximum: 300, default: 1 },
      },
    });
    expect(docs.components.schemas.SandboxDto.required).toEqual(expect.arrayContaining(['restartPolicy', 'restartCount', 'events']));
    expect(docs.components.schemas.SandboxEventDto.required).toEqual(['at', 'state']);
  });

  itIf(!skip)('restarts a failed sandbox on its node after the backoff, under the same id, until maxRestarts are used up', async () => {
    const a = await agent();
    const s = await createSandbox({ restartPolicy: { type: 'on-failure', maxRestarts: 2, backoffSeconds: 1 } });
    expect(s).toMatchObject({ nodeId: a.nodeId, restartPolicy: { type: 'on-failure', maxRestarts: 2, backoffSeconds: 1 }, restartCount: 0 });
    expect(await desiredWith(a, s.id, 0)).toMatchObject({ id: s.id, restartCount: 0 });
    a.status({ id: s.id, state: 'creating', timings: [], restartCount: 0 });
    a.status({ id: s.id, state: 'running', timings: [], restartCount: 0 });
    await reaches(s.id, 'running', 0);

    // The VMM dies: failed at once, with the node's reason; still desired, so the node keeps it.
    a.status({ id: s.id, state: 'failed', timings: [], error: KILLED, restartCount: 0 });
    const failedAt = Date.now();
    expect(await reaches(s.id, 'failed', 0)).toMatchObject({ error: KILLED });
    expect(a.desired.at(-1)?.sandboxes.map((x) => x.id)).toContain(s.id);
    // After the backoff (1 s): the node is asked for a fresh VM under the same id.
    await desiredWith(a, s.id, 1);
    expect(Date.now() - failedAt).toBeGreaterThanOrEqual(900);
    const restarted = await sandbox(s.id);
    expect(restarted).toMatchObject({ id: s.id, nodeId: a.nodeId, state: 'creating', restartCount: 1 });
    expect(restarted.error).toBeUndefined();
    expect(restarted.events.at(-1)).toMatchObject({ state: 'creating', reason: { code: 'RESTARTED', message: expect.stringMatching(/^restart 1 of 2 after VMM_EXITED: the VMM was killed by signal 9/) } });

    // A late report about the old incarnation is not a new failure.
    a.status({ id: s.id, state: 'failed', timings: [], error: KILLED, restartCount: 0 });
    a.status({ id: s.id, state: 'running', timings: [], restartCount: 1 });
    await reaches(s.id, 'running', 1);

    // Second failure: the backoff has doubled (2 s).
    a.status({ id: s.id, state: 'failed', timings: [], error: SILENT, restartCount: 1 });
    const secondAt = Date.now();
    await desiredWith(a, s.id, 2);
    expect(Date.now() - secondAt).toBeGreaterThanOrEqual(1_900);
    a.status({ id: s.id, state: 'running', timings: [], restartCount: 2 });
    await reaches(s.id, 'running', 2);

    // Third failure: no restart left. Failed for good, and its node is told to let it go.
    a.status({ id: s.id, state: 'failed', timings: [], error: OOM, restartCount: 2 });
    await a.desiredWhere((ids) => !ids.includes(s.id));
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    const final = await sandbox(s.id);
    expect(final).toMatchObject({ state: 'failed', restartCount: 2, error: OOM });
    expect(a.desired.at(-1)?.sandboxes.map((x) => x.id)).not.toContain(s.id);

    // Every change, in order, with its reason.
    expect(final.events.map((e) => [e.state, e.reason?.code])).toEqual([
      ['pending', undefined],
      ['creating', undefined],
      ['running', undefined],
      ['failed', 'VMM_EXITED'],
      ['creating', 'RESTARTED'],
      ['running', undefined],
      ['failed', 'GUEST_UNRESPONSIVE'],
      ['creating', 'RESTARTED'],
      ['running', undefined],
      ['failed', 'VMM_OUT_OF_MEMORY'],
    ]);
    expect(final.events[6].reason).toEqual(SILENT);
    expect(final.events[7].reason?.message).toMatch(/^restart 2 of 2 after GUEST_UNRESPONSIVE/);
    const times = final.events.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((x, y) => x - y));
  });

  itIf(!skip)('never restarts by default: a failed sandbox leaves the desired set at once', async () => {
    const a = await agent();
    const s = await createSandbox();
    await desiredWith(a, s.id, 0);
    a.status({ id: s.id, state: 'running', timings: [] });
    await reaches(s.id, 'running', 0);
    a.status({ id: s.id, state: 'failed', timings: [], error: KILLED });
    await a.desiredWhere((ids) => !ids.includes(s.id));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await sandbox(s.id)).toMatchObject({ state: 'failed', restartCount: 0, restartPolicy: { type: 'never' }, error: KILLED });
  });

  itIf(!skip)('records deletes and a node going down as events with their reasons', async () => {
    const a = await agent();
    const gone = await createSandbox();
    const stranded = await createSandbox();
    await a.desiredWhere((ids) => ids.includes(gone.id) && ids.includes(stranded.id));
    a.status({ id: gone.id, state: 'running', timings: [] });
    a.status({ id: stranded.id, state: 'running', timings: [] });
    await reaches(stranded.id, 'running', 0);
    await reaches(gone.id, 'running', 0);

    await t.api().delete(`/v1/sandboxes/${gone.id}`).set(t.admin()).expect(202);
    expect((await sandbox(gone.id)).events.at(-1)).toMatchObject({ state: 'stopping', reason: { code: 'DELETED', message: 'deleted through the API' } });

    a.close();
    await eventually(async () => expect((await node(a.nodeId)).state).toBe('down'));
    const unknown = await sandbox(stranded.id);
    expect(unknown.state).toBe('unknown');
    expect(unknown.events.map((e) => [e.state, e.reason?.code])).toEqual([
      ['pending', undefined],
      ['running', undefined],
      ['unknown', 'NODE_DOWN'],
    ]);
  });

  itIf(!skip)('takes a sandbox being deleted as gone when a heartbeat heard after the delete does not list it, not on an older one', async () => {
    const a = await agent();
    const s = await createSandbox();
    await desiredWith(a, s.id, 0);
    a.status({ id: s.id, state: 'running', timings: [] });
    await reaches(s.id, 'running', 0);
    // A heartbeat heard before the delete that does not list it (sent before the node took
    // the sandbox, and delivered late) is no news about the deletion.
    a.stopHeartbeats();
    a.heartbeat([]);
    await sleep(50);
    await t.api().delete(`/v1/sandboxes/${s.id}`).set(t.admin()).expect(202);
    // Two heartbeat flushes (the TTL's quarter each) later, it is still being deleted.
    await sleep(HEARTBEAT_TTL_MS / 2);
    expect((await sandbox(s.id)).state).toBe('stopping');
    // A heartbeat after the delete that does not list it: gone, as if the node had said so.
    a.heartbeat([]);
    await eventually(() => t.api().get(`/v1/sandboxes/${s.id}`).set(t.admin()).expect(404));
  });

  itIf(!skip)('restarts a deployment replica with on-failure in place, and replaces it only once its restarts are used up', async () => {
    const a = await agent();
    const template = bodyOf<{ id: string }>(
      await t.api()
        .post('/v1/templates')
        .set(t.admin())
        .send({ tenantId, name: 'flaky', vcpus: 1, memoryMiB: 128, restartPolicy: { type: 'on-failure', maxRestarts: 1, backoffSeconds: 1 } })
        .expect(201),
    );
    const deployment = bodyOf<{ id: string }>(
      await t.api().post('/v1/deployments').set(t.admin()).send({ templateId: template.id, replicas: 1, strategy: { type: 'rolling' } }).expect(201),
    );
    const replicas = async (): Promise<Sandbox[]> =>
      bodyOf<Sandbox[]>(await t.api().get(`/v1/sandboxes?deploymentId=${deployment.id}`).set(t.admin()).expect(200)).filter((r) => r.state !== 'stopping');
    const [replica] = await eventually(async () => {
      const found = await replicas();
      expect(found).toHaveLength(1);
      return found;
    });
    expect(replica.restartPolicy).toEqual({ type: 'on-failure', maxRestarts: 1, backoffSeconds: 1 });
    await desiredWith(a, replica.id, 0);
    a.status({ id: replica.id, state: 'running', timings: [], restartCount: 0 });
    await reaches(replica.id, 'running', 0);

    // Failed with a restart left: restarted in place, not replaced.
    a.status({ id: replica.id, state: 'failed', timings: [], error: KILLED, restartCount: 0 });
    await desiredWith(a, replica.id, 1);
    expect((await replicas()).map((r) => r.id)).toEqual([replica.id]);
    a.status({ id: replica.id, state: 'running', timings: [], restartCount: 1 });
    await reaches(replica.id, 'running', 1);

    // Failed with none left: the deployment replaces it.
    a.status({ id: replica.id, state: 'failed', timings: [], error: OOM, restartCount: 1 });
    const replacement = await eventually(async () => {
      const found = await replicas();
      expect(found.map((r) => r.id)).not.toContain(replica.id);
      expect(found).toHaveLength(1);
      return found[0];
    });
    expect(replacement).toMatchObject({ restartCount: 0, restartPolicy: { type: 'on-failure', maxRestarts: 1, backoffSeconds: 1 } });
    const old = await sandbox(replica.id);
    expect(old).toMatchObject({ state: 'stopping', restartCount: 1 });
    expect(old.events.at(-1)).toMatchObject({ state: 'stopping', reason: { code: 'DELETED' } });
    expect(old.events.filter((e) => e.reason?.code === 'RESTARTED')).toHaveLength(1);
    // Its node starts the replacement and, like a real node, lists it in every heartbeat until it
    // reports it gone (a sandbox being deleted that its node does not list is taken as gone).
    await desiredWith(a, replacement.id, 0);
    a.status({ id: replacement.id, state: 'running', timings: [], restartCount: 0 });
    await reaches(replacement.id, 'running', 0);
    // Deleted with its deployment once the node reports both gone.
    await t.api().delete(`/v1/deployments/${deployment.id}`).set(t.admin()).expect(202);
    await eventually(async () => expect((await sandbox(replacement.id)).state).toBe('stopping'));
    a.status({ id: replica.id, state: 'gone', timings: [] });
    a.status({ id: replacement.id, state: 'gone', timings: [] });
    await eventually(() => t.api().get(`/v1/deployments/${deployment.id}`).set(t.admin()).expect(404));
  });

  itIf(!skip)('shows nodes unknown after a control-plane restart until they say hello; their sandboxes are neither pending nor placed again', async () => {
    // `waiting` is placed on the node that will not come back, `running` (spread) on the other.
    const onB = await agent();
    const waiting = await createSandbox();
    const onA = await agent();
    const running = await createSandbox();
    expect([waiting.nodeId, running.nodeId]).toEqual([onB.nodeId, onA.nodeId]);
    const [a, b] = [onA, onB];
    await onA.desiredWhere((ids) => ids.includes(running.id));
    onA.status({ id: running.id, state: 'running', timings: [] });
    await reaches(running.id, 'running', 0);
    // `waiting` was placed on the other node, which never reported on it (pending).
    expect((await sandbox(waiting.id)).state).toBe('pending');

    await t.restart();
    a.close();
    b.close();
    expect((await node(a.nodeId)).state).toBe('unknown');
    expect((await node(b.nodeId)).state).toBe('unknown');
    // Last known state, still on its node; one its node never reported on is unknown, not pending.
    expect(await sandbox(running.id)).toMatchObject({ state: 'running', nodeId: onA.nodeId });
    const unknown = await sandbox(waiting.id);
    expect(unknown).toMatchObject({ state: 'unknown', nodeId: onB.nodeId });
    expect(unknown.events.at(-1)).toMatchObject({ state: 'unknown', reason: { code: 'NODE_UNKNOWN' } });
    // Nothing is placed on a node that has not said hello; exec cannot reach one.
    const fresh = await createSandbox();
    expect(fresh).toMatchObject({ state: 'pending', nodeId: null });
    expect(bodyOf<{ error: ErrorInfo }>(await t.api().post(`/v1/sandboxes/${running.id}/exec`).set(t.admin()).send({ command: ['true'] }).expect(503)).error.code).toBe(
      'NODE_UNAVAILABLE',
    );
    const metrics = await t.api().get('/metrics').set(t.admin()).expect(200);
    expect(metrics.text).toMatch(/moat_nodes\{state="unknown"\} 2/);

    // The first node says hello: ready, its desired set, and the backlog is placed on it.
    const back = await agent(onA.nodeId);
    expect((await node(onA.nodeId)).state).toBe('ready');
    const desired = await back.desiredWhere((ids) => ids.includes(running.id) && ids.includes(fresh.id));
    expect(desired.sandboxes.map((x) => x.id)).not.toContain(waiting.id);
    back.status({ id: running.id, state: 'running', timings: [] });
    // The other never comes back: down once silent for the TTL plus grace, its sandbox still unknown there.
    await eventually(async () => expect((await node(onB.nodeId)).state).toBe('down'), { timeout: HEARTBEAT_TTL_MS + GRACE_MS + 5_000 });
    expect(await sandbox(waiting.id)).toMatchObject({ state: 'unknown', nodeId: onB.nodeId });
    expect((await node(onA.nodeId)).state).toBe('ready');
    expect(await sandbox(running.id)).toMatchObject({ state: 'running', nodeId: onA.nodeId });
  });
});
