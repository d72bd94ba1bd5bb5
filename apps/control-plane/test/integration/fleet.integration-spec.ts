import { UI_NAMESPACE } from '@moat/proto';
import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';
import { TestAgent } from './support/test-agent';

interface UiEvent {
  event: string;
  payload: { id: string; state?: string; tenantId?: string };
}

describe.each(DATABASES)('fleet on $label', ({ kind, skip }) => {
  let t: TestApp;
  let ops: { id: string };
  let opened: { close(): unknown }[] = [];

  beforeAll(async () => {
    if (skip) return;
    t = await startApp(kind);
    const quota = { maxSandboxes: 100, maxVcpus: 1000, maxMemoryMiB: 10_000_000 };
    ops = (await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'ops', quota }).expect(201)).body;
  });
  // Each test starts with no ready node, so placements are predictable.
  afterEach(async () => {
    opened.forEach((o) => o.close());
    opened = [];
    if (skip) return;
    await eventually(async () => {
      const nodes = (await t.api().get('/v1/nodes').set(t.admin()).expect(200)).body as { state: string }[];
      expect(nodes.filter((n) => n.state !== 'down')).toEqual([]);
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Creates a sandbox as the admin, for a tenant whose quota these tests never reach. */
  async function createSandbox(body: object = {}): Promise<{ id: string; nodeId: string | null; state: string }> {
    return bodyOf(await t.api().post('/v1/sandboxes').set(t.admin()).send({ tenantId: ops.id, ...body }).expect(201));
  }

  async function agent(capacity = { vcpus: 8, memoryMiB: 8192 }): Promise<TestAgent> {
    const a = await TestAgent.connect(t.baseUrl, t.adminToken);
    opened.push(a);
    expect(await a.hello({ capacity })).toEqual({ ok: true, result: { nodeId: a.nodeId } });
    // Its desired set follows the acknowledgement, as it does for a real agent.
    await a.desiredWhere(() => true);
    return a;
  }

  function dashboard(token: string): Promise<{ socket: Socket; events: UiEvent[] }> {
    const socket = io(`${t.baseUrl}${UI_NAMESPACE}`, { transports: ['websocket'], auth: { token }, forceNew: true });
    opened.push(socket);
    const events: UiEvent[] = [];
    socket.onAny((event: string, payload: UiEvent['payload']) => events.push({ event, payload }));
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve({ socket, events }));
      socket.once('connect_error', reject);
    });
  }

  async function sandboxState(id: string): Promise<string> {
    return bodyOf<{ state: string }>(await t.api().get(`/v1/sandboxes/${id}`).set(t.admin()).expect(200)).state;
  }

  itIf(!skip)('refuses agents without the right token or node id', async () => {
    await expect(TestAgent.connect(t.baseUrl, 'wrong-token')).rejects.toThrow(/unauthenticated/);
    await expect(TestAgent.connect(t.baseUrl, t.adminToken, 'not-a-uuid')).rejects.toThrow(/unauthenticated/);
  });

  itIf(!skip)('runs a sandbox through its whole life with a real socket.io agent', async () => {
    const tenant = bodyOf<{ apiKey: string }>(await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'fleet' }).expect(201));
    const asTenant = { Authorization: `Bearer ${tenant.apiKey}` };
    const ui = await dashboard(t.adminToken);
    const tenantUi = await dashboard(tenant.apiKey);

    const node = await agent();
    await node.desiredWhere((ids) => ids.length === 0);
    const nodeView = await t.api().get(`/v1/nodes/${node.nodeId}`).set(t.admin()).expect(200);
    expect(nodeView.body).toMatchObject({ state: 'ready', capacity: { vcpus: 8, memoryMiB: 8192 }, accel: 'tcg' });

    const requested = {
      vcpus: 2,
      memoryMiB: 512,
      image: 'busybox',
      command: ['/bin/sh', '-c', 'sleep 9'],
      rootfs: 'block',
      env: { A: '1' },
      networkModel: 'macvtap',
      ports: [{ containerPort: 80, protocol: 'tcp' }],
    };
    const created = await t.api().post('/v1/sandboxes').set(asTenant).send(requested).expect(201);
    const id: string = created.body.id;
    expect(created.body).toMatchObject({ nodeId: node.nodeId, image: 'busybox', command: ['/bin/sh', '-c', 'sleep 9'], rootfs: 'block' });
    // Its address is planned at once, from the tenant's subnet of the default pool.
    expect(created.body).toMatchObject({
      networkModel: 'macvtap',
      network: true,
      ip: expect.stringMatching(/^10\.88\.\d+\.\d+$/),
      ports: [{ containerPort: 80, protocol: 'tcp' }],
    });
    const desired = await node.desiredWhere((ids) => ids.includes(id));
    // The node gets exactly what was asked for, and what the control plane adds.
    const added = { labels: {}, tenantId: created.body.tenantId, network: true, restartCount: 0, address: created.body.ip };
    expect(desired.sandboxes[0]).toEqual({ ...requested, id, ...added });
    const nodes = await t.api().get('/v1/nodes').set(t.admin()).expect(200);
    expect(bodyOf<{ id: string; allocated: object }[]>(nodes).find((n) => n.id === node.nodeId)?.allocated).toEqual({ vcpus: 2, memoryMiB: 512 });

    // Exec before the node reports it running is refused.
    const early = await t.api().post(`/v1/sandboxes/${id}/exec`).set(asTenant).send({ command: ['true'] }).expect(409);
    expect(early.body.error.code).toBe('SANDBOX_NOT_RUNNING');

    // Pull progress shows while creating, and goes once the sandbox runs.
    node.status({ id, state: 'creating', timings: [], progress: { phase: 'pull', bytesDone: 10, bytesTotal: 40 } });
    await eventually(async () => {
      const res = await t.api().get(`/v1/sandboxes/${id}`).set(asTenant).expect(200);
      expect(res.body.progress).toEqual({ phase: 'pull', bytesDone: 10, bytesTotal: 40 });
    });
    node.status({ id, state: 'creating', timings: [{ phase: 'rootfs', ms: 12 }] });
    const timings = [
      { phase: 'rootfs', ms: 12 },
      { phase: 'vmm-start', ms: 400 },
    ];
    const network = { ip: '10.88.0.2', ports: [{ containerPort: 80, hostPort: 40123, protocol: 'tcp' as const }] };
    node.status({ id, state: 'running', timings, guest: { kernelRelease: '6.1.0', agentVersion: '0.1.0' }, network });
    const running = await eventually(async () => {
      const res = await t.api().get(`/v1/sandboxes/${id}`).set(asTenant).expect(200);
      expect(res.body.state).toBe('running');
      return bodyOf<Record<string, unknown>>(res);
    });
    expect(running).toMatchObject({ timings, guest: { kernelRelease: '6.1.0' }, nodeId: node.nodeId, ip: network.ip, ports: network.ports });
    expect(running.error).toBeUndefined();
    expect(running.progress).toBeUndefined();
    const runningList = await t.api().get('/v1/sandboxes?state=running').set(asTenant).expect(200);
    expect(bodyOf<{ id: string }[]>(runningList).map((s) => s.id)).toEqual([id]);

    // Exec goes through the agent.
    node.onExec = (req) => ({ ok: true, result: { exitCode: 3, stdout: req.command.join(' '), stderr: req.stdin ?? '', guestMs: 12.34 } });
    const exec = await t.api()
      .post(`/v1/sandboxes/${id}/exec`)
      .set(asTenant)
      .send({ command: ['echo', 'hi'], stdin: 'in', cwd: '/tmp', timeoutMs: 1000 })
      .expect(200);
    // The node's timing goes to Server-Timing with the control plane's own legs, not into the body.
    expect(exec.body).toEqual({ exitCode: 3, stdout: 'echo hi', stderr: 'in' });
    expect(exec.headers['server-timing']).toMatch(/^lookup;dur=\d+\.\d, node;dur=\d+\.\d, guest;dur=12\.3$/);
    expect(node.execRequests.at(-1)).toEqual({ sandboxId: id, command: ['echo', 'hi'], stdin: 'in', cwd: '/tmp', timeoutMs: 1000 });
    node.onExec = () => ({ ok: false, error: { code: 'NO_SUCH_PROCESS', message: 'crun failed' } });
    const failed = await t.api().post(`/v1/sandboxes/${id}/exec`).set(asTenant).send({ command: ['x'] }).expect(502);
    expect(failed.body.error).toEqual({ code: 'EXEC_FAILED', message: 'NO_SUCH_PROCESS: crun failed' });
    node.onExec = () => undefined;
    const silent = await t.api().post(`/v1/sandboxes/${id}/exec`).set(asTenant).send({ command: ['sleep'], timeoutMs: 1 });
    expect(silent.status).toBe(504);
    expect(silent.body.error.code).toBe('EXEC_TIMEOUT');
    await t.api().post(`/v1/sandboxes/${id}/exec`).set(asTenant).send({ command: [] }).expect(400);

    // Delete: stopping until the agent reports it gone, then 404.
    const deleted = await t.api().delete(`/v1/sandboxes/${id}`).set(asTenant).expect(202);
    expect(deleted.body.state).toBe('stopping');
    await t.api().delete(`/v1/sandboxes/${id}`).set(asTenant).expect(202);
    await node.desiredWhere((ids) => !ids.includes(id));
    node.status({ id, state: 'running', timings: [] });
    node.status({ id, state: 'gone', timings: [] });
    await eventually(() => t.api().get(`/v1/sandboxes/${id}`).set(asTenant).expect(404));

    // Dashboards saw it all live: the admin everything, the tenant its own sandbox only.
    await eventually(() => {
      expect(ui.events).toContainEqual({ event: 'sandbox:deleted', payload: { id } });
      expect(tenantUi.events).toContainEqual({ event: 'sandbox:deleted', payload: { id } });
      return Promise.resolve();
    });
    const states = (events: UiEvent[]) =>
      events.filter((e) => e.event === 'sandbox:updated' && e.payload.id === id).map((e) => e.payload.state);
    expect(states(ui.events)).toEqual(expect.arrayContaining(['pending', 'creating', 'running', 'stopping']));
    expect(states(tenantUi.events)).toEqual(states(ui.events));
    expect(ui.events.some((e) => e.event === 'node:updated' && e.payload.id === node.nodeId)).toBe(true);
    expect(tenantUi.events.some((e) => e.event === 'node:updated')).toBe(false);
  });

  itIf(!skip)('sends a sandbox\u2019s egress policy and dns settings to its node, and shows them with the isolation the node reports', async () => {
    const node = await agent();
    const egress = { default: 'deny', allow: ['10.20.0.0/16', '192.0.2.7/32'], deny: ['10.20.5.0/24'] };
    const dns = { servers: ['192.0.2.53', '198.51.100.53'], search: ['svc.example.com'], options: ['ndots:2'] };
    const fenced = await createSandbox({ egress, dns });
    expect(fenced).toMatchObject({ nodeId: node.nodeId, egress, dns, isolation: null });
    const plain = await createSandbox();
    expect(plain).toMatchObject({ egress: null, dns: null, isolation: null });

    const desired = await node.desiredWhere((ids) => ids.includes(fenced.id) && ids.includes(plain.id));
    expect(desired.sandboxes.find((s) => s.id === fenced.id)).toMatchObject({ egress, dns });
    const unfenced = desired.sandboxes.find((s) => s.id === plain.id);
    expect(unfenced).not.toHaveProperty('egress');
    expect(unfenced).not.toHaveProperty('dns');

    // Isolation is null until the node reports it, then shown on GET and in the list.
    node.status({ id: fenced.id, state: 'creating', timings: [] });
    await eventually(async () => expect(await sandboxState(fenced.id)).toBe('creating'));
    expect(bodyOf<{ isolation: unknown }>(await t.api().get(`/v1/sandboxes/${fenced.id}`).set(t.admin()).expect(200)).isolation).toBeNull();
    const isolation = { jailed: true, uid: 200_017, seccomp: true, cgroup: `/moat/${fenced.id}` };
    node.status({ id: fenced.id, state: 'running', timings: [], isolation });
    node.status({ id: plain.id, state: 'running', timings: [], isolation: { jailed: false, uid: 0, seccomp: false } });
    await eventually(async () => {
      const one = bodyOf<{ state: string; isolation: unknown; egress: unknown; dns: unknown }>(await t.api().get(`/v1/sandboxes/${fenced.id}`).set(t.admin()).expect(200));
      expect(one).toMatchObject({ state: 'running', isolation, egress, dns });
    });
    const listed = bodyOf<{ id: string; isolation: unknown; egress: unknown; dns: unknown }[]>(await t.api().get('/v1/sandboxes').set(t.admin()).expect(200));
    expect(listed.find((s) => s.id === fenced.id)).toMatchObject({ isolation, egress, dns });
    expect(listed.find((s) => s.id === plain.id)).toMatchObject({ isolation: { jailed: false, uid: 0, seccomp: false }, egress: null, dns: null });
    // A later report without isolation keeps what was reported.
    node.status({ id: fenced.id, state: 'running', timings: [{ phase: 'vmm', ms: 7 }] });
    await eventually(async () => {
      const one = bodyOf<{ timings: unknown[]; isolation: unknown }>(await t.api().get(`/v1/sandboxes/${fenced.id}`).set(t.admin()).expect(200));
      expect(one.timings).toHaveLength(1);
      expect(one.isolation).toEqual(isolation);
    });
  });

  itIf(!skip)('shows whether each node jails its VMMs, as its latest hello says', async () => {
    const jailed = await agent();
    const loose = await TestAgent.connect(t.baseUrl, t.adminToken);
    opened.push(loose);
    expect(await loose.hello({ jailed: false })).toMatchObject({ ok: true });
    const jailedOf = async (): Promise<Record<string, boolean>> => {
      const nodes = bodyOf<{ id: string; jailed: boolean }[]>(await t.api().get('/v1/nodes').set(t.admin()).expect(200));
      return Object.fromEntries(nodes.filter((n) => n.id === jailed.nodeId || n.id === loose.nodeId).map((n) => [n.id, n.jailed]));
    };
    expect(await jailedOf()).toEqual({ [jailed.nodeId]: true, [loose.nodeId]: false });
    expect(bodyOf<{ jailed: boolean }>(await t.api().get(`/v1/nodes/${loose.nodeId}`).set(t.admin()).expect(200)).jailed).toBe(false);
    expect(bodyOf<{ jailed: boolean }>(await t.api().get(`/v1/nodes/${jailed.nodeId}`).set(t.admin()).expect(200)).jailed).toBe(true);
    // Saying hello again (an agent restarted with MOAT_JAIL changed) updates it.
    expect(await loose.hello({ jailed: true })).toMatchObject({ ok: true });
    expect(await jailed.hello({ jailed: false })).toMatchObject({ ok: true });
    expect(await jailedOf()).toEqual({ [jailed.nodeId]: false, [loose.nodeId]: true });
  });

  itIf(!skip)('keeps sandboxes pending until a node has room, then places them', async () => {
    const small = await agent({ vcpus: 2, memoryMiB: 2048 });
    const big = await createSandbox({ vcpus: 16, memoryMiB: 1024 });
    expect(big).toMatchObject({ state: 'pending', nodeId: null });
    expect(small.desired.at(-1)?.sandboxes).toEqual([]);
    const roomy = await agent({ vcpus: 32, memoryMiB: 65536 });
    await roomy.desiredWhere((ids) => ids.includes(big.id));
    const placed = await t.api().get(`/v1/sandboxes/${big.id}`).set(t.admin()).expect(200);
    expect(placed.body.nodeId).toBe(roomy.nodeId);
  });

  itIf(!skip)('registers nodes saying hello together, places a backlog over them once each, and applies burst statuses in order', async () => {
    const backlog = await Promise.all(Array.from({ length: 6 }, () => createSandbox()));
    expect(backlog.every((s) => s.nodeId === null)).toBe(true);
    const nodes = await Promise.all(Array.from({ length: 3 }, () => TestAgent.connect(t.baseUrl, t.adminToken)));
    opened.push(...nodes);
    const replies = await Promise.all(nodes.map((n) => n.hello({ capacity: { vcpus: 4, memoryMiB: 4096 } })));
    expect(replies).toEqual(nodes.map((n) => ({ ok: true, result: { nodeId: n.nodeId } })));
    const ids = backlog.map((s) => s.id);
    await eventually(() => {
      // Each sandbox in exactly one node's latest desired set.
      const listed = nodes.flatMap((n) => n.desired.at(-1)?.sandboxes.map((s) => s.id) ?? []);
      expect(listed.sort()).toEqual([...ids].sort());
      return Promise.resolve();
    });
    const placed = await Promise.all(ids.map(async (id) => bodyOf<{ nodeId: string }>(await t.api().get(`/v1/sandboxes/${id}`).set(t.admin()).expect(200))));
    // Spread: two on each node, and each where that node's desired set says.
    expect(placed.map((s) => s.nodeId).sort()).toEqual(nodes.flatMap((n) => [n.nodeId, n.nodeId]).sort());
    for (const n of nodes) {
      const mine = n.desired.at(-1)?.sandboxes.map((s) => s.id) ?? [];
      expect(placed.filter((s, i) => mine.includes(ids[i])).every((s) => s.nodeId === n.nodeId)).toBe(true);
      // Reported back to back: the later report must win.
      for (const id of mine) {
        n.status({ id, state: 'creating', timings: [] });
        n.status({ id, state: 'running', timings: [{ phase: 'vmm', ms: 5 }] });
      }
    }
    await eventually(async () => {
      for (const id of ids) expect(await sandboxState(id)).toBe('running');
    });
    const { body: sample } = await t.api().get(`/v1/sandboxes/${ids[0]}`).set(t.admin()).expect(200);
    expect(sample.timings).toEqual([{ phase: 'vmm', ms: 5 }]);
    const nodeViews = await Promise.all(nodes.map(async (n) => (await t.api().get(`/v1/nodes/${n.nodeId}`).set(t.admin()).expect(200)).body as { state: string; sandboxCount: number }));
    expect(nodeViews.map((v) => [v.state, v.sandboxCount])).toEqual([['ready', 2], ['ready', 2], ['ready', 2]]);
    for (const id of ids) await t.api().delete(`/v1/sandboxes/${id}`).set(t.admin()).expect(202);
  });

  itIf(!skip)('spreads sandboxes, marks a lost one failed, and a node down when its agent disconnects', async () => {
    const a = await agent({ vcpus: 4, memoryMiB: 4096 });
    const b = await agent({ vcpus: 4, memoryMiB: 4096 });
    const first = await createSandbox();
    const second = await createSandbox();
    expect([first.nodeId, second.nodeId].sort()).toEqual([a.nodeId, b.nodeId].sort());
    const owner = first.nodeId === a.nodeId ? a : b;
    const other = owner === a ? b : a;

    await owner.desiredWhere((ids) => ids.includes(first.id));
    owner.status({ id: first.id, state: 'running', timings: [] });
    await eventually(async () => expect(await sandboxState(first.id)).toBe('running'));
    // Statuses for sandboxes not placed on the reporting node, and invalid ones, are ignored.
    other.status({ id: first.id, state: 'failed', timings: [], error: { code: 'X', message: 'y' } });
    other.status({ id: randomUUID(), state: 'running', timings: [] });
    other.socket.emit('sandbox:status', { id: 'nope' } as never);
    owner.status({ id: first.id, state: 'gone', timings: [] });
    await eventually(async () => expect(await sandboxState(first.id)).toBe('failed'));
    const lost = await t.api().get(`/v1/sandboxes/${first.id}`).set(t.admin()).expect(200);
    expect(lost.body.error.code).toBe('SANDBOX_LOST');
    // A failed sandbox leaves its node's desired set.
    await owner.desiredWhere((ids) => !ids.includes(first.id));

    other.close();
    await eventually(async () => {
      const res = await t.api().get(`/v1/nodes/${other.nodeId}`).set(t.admin()).expect(200);
      expect(res.body.state).toBe('down');
    });
    // Placed on the node that went away: unknown, and not placed anywhere else.
    const stranded = bodyOf<{ state: string; nodeId: string }>(await t.api().get(`/v1/sandboxes/${second.id}`).set(t.admin()).expect(200));
    expect(stranded).toMatchObject({ state: 'unknown', nodeId: other.nodeId });
    await t.api().get('/healthz').expect(200);
  });

  itIf(!skip)('answers exec with 503 while the node is down, and resends the desired set on reconnect', async () => {
    const node = await agent();
    const created = await createSandbox();
    expect(created.nodeId).toBe(node.nodeId);
    await node.desiredWhere((ids) => ids.includes(created.id));
    node.status({ id: created.id, state: 'running', timings: [] });
    await eventually(async () => expect(await sandboxState(created.id)).toBe('running'));

    node.close();
    await eventually(async () => {
      const res = await t.api().get(`/v1/nodes/${node.nodeId}`).set(t.admin()).expect(200);
      expect(res.body.state).toBe('down');
    });
    const res = await t.api().post(`/v1/sandboxes/${created.id}/exec`).set(t.admin()).send({ command: ['true'] }).expect(503);
    expect(res.body.error.code).toBe('NODE_UNAVAILABLE');

    const again = await TestAgent.connect(t.baseUrl, t.adminToken, node.nodeId);
    opened.push(again);
    await again.hello();
    await again.desiredWhere((ids) => ids.includes(created.id));
    const back = await t.api().get(`/v1/nodes/${node.nodeId}`).set(t.admin()).expect(200);
    expect(back.body.state).toBe('ready');
  });

  itIf(!skip)('refuses dashboards without a valid token', async () => {
    await expect(dashboard('wrong')).rejects.toThrow(/unauthenticated/);
  });
});
