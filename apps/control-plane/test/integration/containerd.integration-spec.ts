import type { ContainerdSandbox } from '@moat/proto';
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';
import { closeAfterEachTest, connectDashboard } from './support/opened';
import { AGENT_SIZING, TestAgent } from './support/test-agent';

interface Sandbox {
  id: string;
  origin: string;
  containerd?: { namespace: string; id: string };
  tenantId: string | null;
  nodeId: string | null;
  state: string;
  vcpus: number;
  memoryMiB: number;
  pendingReason: { code: string; message: string } | null;
}

describe.each(DATABASES)('sandboxes containerd started, on $label', ({ kind, skip }) => {
  let t: TestApp;
  const closeAfterTest = closeAfterEachTest();

  beforeEach(async () => {
    if (skip) return;
    t = closeAfterTest(await startApp(kind));
  });

  async function agent(): Promise<TestAgent> {
    const a = closeAfterTest(await TestAgent.connect(t.baseUrl, t.adminToken));
    // (4096 − 1024) MiB and 2 × 16 vCPUs offered.
    expect(await a.hello({ capacity: { vcpus: 2, memoryMiB: 4096 }, ...AGENT_SIZING })).toMatchObject({ ok: true });
    return a;
  }

  const task = (over: Partial<ContainerdSandbox> = {}): ContainerdSandbox => ({
    id: randomUUID(),
    containerd: { namespace: 'default', id: 'web' },
    vcpus: 2,
    memoryMiB: 1024,
    state: 'running',
    since: '2026-12-06T16:00:00.000Z',
    ...over,
  });
  const list = async (auth: Record<string, string>, query = ''): Promise<Sandbox[]> => bodyOf(await t.api().get(`/v1/sandboxes${query}`).set(auth).expect(200));
  const allocatable = async (nodeId: string): Promise<unknown> => bodyOf<{ allocatable: unknown }>(await t.api().get(`/v1/nodes/${nodeId}`).set(t.admin()).expect(200)).allocatable;
  const create = async (body: object): Promise<Sandbox> => bodyOf(await t.api().post('/v1/sandboxes').set(t.admin()).send(body).expect(201));
  async function tenantKey(): Promise<{ Authorization: string }> {
    const created = bodyOf<{ apiKey: string }>(await t.api().post('/v1/tenants').set(t.admin()).send({ name: 'acme' }).expect(201));
    return { Authorization: `Bearer ${created.apiKey}` };
  }

  itIf(!skip)("shows the admin a node's containerd sandbox, hides it from tenants, and refuses every change of it", async () => {
    const node = await agent();
    const asTenant = await tenantKey();
    const mine = await create({ vcpus: 1, memoryMiB: 256 });
    const reported = task();
    node.heartbeat([], [reported]);

    const listed = await eventually(async () => {
      const all = await list(t.admin());
      expect(all.map((s) => s.id)).toContain(reported.id);
      return all;
    });
    expect(listed.find((s) => s.id === mine.id)).toMatchObject({ origin: 'moat' });
    expect(listed.find((s) => s.id === reported.id)).toMatchObject({
      origin: 'containerd',
      containerd: { namespace: 'default', id: 'web' },
      nodeId: node.nodeId,
      tenantId: null,
      vcpus: 2,
      memoryMiB: 1024,
      state: 'running',
    });
    const one = bodyOf<Sandbox>(await t.api().get(`/v1/sandboxes/${reported.id}`).set(t.admin()).expect(200));
    expect(one).toMatchObject({ origin: 'containerd', containerd: { namespace: 'default', id: 'web' }, nodeId: node.nodeId });
    // The list's filters apply: by node and state, and none for a tenant or a deployment.
    expect((await list(t.admin(), `?nodeId=${node.nodeId}&state=running`)).map((s) => s.id)).toContain(reported.id);
    expect((await list(t.admin(), '?state=pending')).map((s) => s.id)).not.toContain(reported.id);
    expect((await list(t.admin(), `?tenantId=${randomUUID()}`)).map((s) => s.id)).not.toContain(reported.id);

    // A tenant never sees it.
    expect((await list(asTenant)).map((s) => s.id)).not.toContain(reported.id);
    await t.api().get(`/v1/sandboxes/${reported.id}`).set(asTenant).expect(404);
    await t.api().delete(`/v1/sandboxes/${reported.id}`).set(asTenant).expect(404);

    // Containerd's to delete or change.
    const refused = await t.api().delete(`/v1/sandboxes/${reported.id}`).set(t.admin()).expect(409);
    expect(refused.body.error.code).toBe('MANAGED_BY_CONTAINERD');
    expect(refused.body.error.message).toContain('delete it through containerd (ctr task delete / crictl)');
    for (const [method, path, body] of [
      ['post', 'exec', { command: ['true'] }],
      ['post', 'pause', undefined],
      ['post', 'resume', undefined],
      ['post', 'hibernate', undefined],
      ['post', 'wake', undefined],
      ['post', 'fork', { count: 1 }],
      ['get', 'stats', undefined],
      ['get', 'logs', undefined],
      ['get', 'files?path=/etc/hostname', undefined],
    ] as const) {
      const res = await t.api()[method](`/v1/sandboxes/${reported.id}/${path}`).set(t.admin()).send(body);
      expect({ path, status: res.status, code: res.body?.error?.code }).toEqual({ path, status: 409, code: 'MANAGED_BY_CONTAINERD' });
    }
    // Still listed: nothing was deleted.
    expect((await list(t.admin())).map((s) => s.id)).toContain(reported.id);
  });

  itIf(!skip)('counts its size against the node: a sandbox that would fit pends, and fits once the report drops it', async () => {
    const node = await agent();
    expect(await allocatable(node.nodeId)).toEqual({ vcpus: 32, memoryMiB: 3072 });
    node.heartbeat([], [task()]);
    // 2 vCPUs, and 1024 MiB + 160 MiB overhead, come off.
    await eventually(async () => expect(await allocatable(node.nodeId)).toEqual({ vcpus: 30, memoryMiB: 3072 - 1184 }));

    // 1792 + 160 = 1952 MiB: fits 3072, not 1888.
    const waiting = await create({ vcpus: 1, memoryMiB: 1792 });
    expect(waiting).toMatchObject({
      state: 'pending',
      nodeId: null,
      pendingReason: { code: 'INSUFFICIENT_MEMORY', message: 'no ready node has 1952 MiB free (1792 MiB + 160 MiB overhead); largest free: 1888 MiB' },
    });

    // containerd deleted the task: the next beat lists none, and the room is offered again.
    node.heartbeat([], []);
    await eventually(async () => {
      const placed = bodyOf<Sandbox>(await t.api().get(`/v1/sandboxes/${waiting.id}`).set(t.admin()).expect(200));
      expect(placed).toMatchObject({ nodeId: node.nodeId, pendingReason: null });
    });
    expect(await allocatable(node.nodeId)).toEqual({ vcpus: 32, memoryMiB: 3072 });
    expect((await list(t.admin())).filter((s) => s.origin === 'containerd')).toEqual([]);
  });

  itIf(!skip)("a node that goes away takes its containerd sandboxes out of the list; an older agent's beat leaves them be", async () => {
    const pushed: Sandbox[] = [];
    const deleted: string[] = [];
    closeAfterTest(
      await connectDashboard(t, (socket) => {
        socket.on('sandbox:updated', (sandbox: Sandbox) => pushed.push(sandbox));
        socket.on('sandbox:deleted', ({ id }: { id: string }) => deleted.push(id));
      }),
    );
    const node = await agent();
    const reported = task({ state: 'creating' });
    node.heartbeat([], [reported]);
    await eventually(async () => expect((await list(t.admin())).map((s) => s.id)).toContain(reported.id));
    // Dashboards are told.
    await eventually(() => expect(pushed.find((s) => s.id === reported.id)).toMatchObject({ origin: 'containerd', state: 'creating', nodeId: node.nodeId }));
    // A beat without the field (an older agent) says nothing of them.
    node.heartbeat([]);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await list(t.admin())).find((s) => s.id === reported.id)).toMatchObject({ state: 'creating' });

    node.close();
    await eventually(async () => expect((await list(t.admin())).map((s) => s.id)).not.toContain(reported.id));
    await t.api().get(`/v1/sandboxes/${reported.id}`).set(t.admin()).expect(404);
    await eventually(() => expect(deleted).toContain(reported.id));

    // Back again with the same list, it is shown again: what the control plane remembered of the
    // node's beats went with it.
    const back = closeAfterTest(await TestAgent.connect(t.baseUrl, t.adminToken, node.nodeId));
    expect(await back.hello({ capacity: { vcpus: 2, memoryMiB: 4096 }, ...AGENT_SIZING })).toMatchObject({ ok: true });
    back.heartbeat([], [reported]);
    await eventually(async () => expect((await list(t.admin())).map((s) => s.id)).toContain(reported.id));
  });
});
