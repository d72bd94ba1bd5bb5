import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';
import { TestAgent } from './support/test-agent';

interface Sandbox {
  id: string;
  state: string;
  nodeId: string | null;
  deploymentId: string | null;
  templateVersion: number | null;
  health: string;
}
interface Deployment {
  id: string;
  state: string;
  counts: { desired: number; running: number; healthy: number; unhealthy: number };
}

const SETTLE_MS = 30_000;

describe.each(DATABASES)('deployments on $label', ({ kind, skip }) => {
  let t: TestApp;
  let key: string;
  let otherKey: string;
  let templateId: string;
  const agents: TestAgent[] = [];
  const as = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });
  const rolling = { type: 'rolling', autoRollback: true };

  beforeAll(async () => {
    if (skip) return;
    t = await startApp(kind, { MOAT_RECONCILE_INTERVAL_MS: '100' });
    const tenant = async (name: string, maxSandboxes: number): Promise<string> =>
      bodyOf<{ apiKey: string }>(
        await t.api()
          .post('/v1/tenants')
          .set(as(t.adminToken))
          .send({ name, quota: { maxSandboxes, maxVcpus: 100, maxMemoryMiB: 100_000 } })
          .expect(201),
      ).apiKey;
    key = await tenant('owner', 6);
    otherKey = await tenant('other', 10);
    for (let i = 0; i < 2; i += 1) {
      const agent = await TestAgent.connect(t.baseUrl, t.adminToken);
      agent.simulate();
      await agent.hello();
      agents.push(agent);
    }
    templateId = bodyOf<{ id: string }>(
      await t.api().post('/v1/templates').set(as(key)).send({ name: 'svc', vcpus: 1, memoryMiB: 128 }).expect(201),
    ).id;
  });
  afterAll(async () => {
    agents.forEach((a) => a.close());
    await t?.close();
  });

  async function replicas(deploymentId: string): Promise<Sandbox[]> {
    const all = bodyOf<Sandbox[]>(await t.api().get(`/v1/sandboxes?deploymentId=${deploymentId}`).set(as(key)).expect(200));
    return all.filter((s) => s.state !== 'stopping');
  }

  async function countsReach(deploymentId: string, healthy: number): Promise<Deployment> {
    return eventually(async () => {
      const deployment = bodyOf<Deployment>(await t.api().get(`/v1/deployments/${deploymentId}`).set(as(key)).expect(200));
      expect(deployment.counts).toMatchObject({ running: healthy, healthy, unhealthy: 0 });
      return deployment;
    }, { timeout: SETTLE_MS });
  }

  async function deleteAndWait(deploymentId: string): Promise<void> {
    await t.api().delete(`/v1/deployments/${deploymentId}`).set(as(key)).expect(202);
    await eventually(() => t.api().get(`/v1/deployments/${deploymentId}`).set(as(key)).expect(404), { timeout: SETTLE_MS });
  }

  itIf(!skip)('keeps the replica count through scaling, and its sandboxes carry the deployment', async () => {
    const created = bodyOf<Deployment>(
      await t.api().post('/v1/deployments').set(as(key)).send({ templateId, replicas: 3, strategy: rolling }).expect(201),
    );
    await countsReach(created.id, 3);
    const sandboxes = await replicas(created.id);
    expect(sandboxes.map((s) => [s.deploymentId, s.templateVersion, s.health])).toEqual(
      Array.from({ length: 3 }, () => [created.id, 1, 'healthy']),
    );
    const unrelated = bodyOf<{ id: string }>(await t.api().post('/v1/sandboxes').set(as(key)).send({}).expect(201));
    const listed = bodyOf<Sandbox[]>(await t.api().get(`/v1/sandboxes?deploymentId=${created.id}`).set(as(key)).expect(200));
    expect(listed.map((s) => s.id)).not.toContain(unrelated.id);
    await t.api().delete(`/v1/sandboxes/${unrelated.id}`).set(as(key)).expect(202);

    await t.api().patch(`/v1/deployments/${created.id}`).set(as(key)).send({ replicas: 1 }).expect(200);
    await countsReach(created.id, 1);
    await eventually(async () => expect(await replicas(created.id)).toHaveLength(1), { timeout: SETTLE_MS });
    await t.api().patch(`/v1/deployments/${created.id}`).set(as(key)).send({ replicas: 2 }).expect(200);
    await countsReach(created.id, 2);
    await deleteAndWait(created.id);
    expect(await replicas(created.id)).toEqual([]);
  });

  itIf(!skip)('replaces a replica whose sandbox failed', async () => {
    const created = bodyOf<Deployment>(
      await t.api().post('/v1/deployments').set(as(key)).send({ templateId, replicas: 2, strategy: rolling }).expect(201),
    );
    await countsReach(created.id, 2);
    const [victim] = await replicas(created.id);
    const node = agents.find((a) => a.nodeId === victim.nodeId);
    node?.status({ id: victim.id, state: 'failed', timings: [], error: { code: 'VMM_EXITED', message: 'qemu exited' } });
    await eventually(async () => {
      const now = await replicas(created.id);
      expect(now.map((s) => s.id)).not.toContain(victim.id);
      expect(now.filter((s) => s.state === 'running')).toHaveLength(2);
    }, { timeout: SETTLE_MS });
    await deleteAndWait(created.id);
  });

  itIf(!skip)('runs one replica per ready node with perNode', async () => {
    const created = bodyOf<Deployment>(
      await t.api().post('/v1/deployments').set(as(key)).send({ templateId, perNode: true, strategy: rolling }).expect(201),
    );
    expect(created.counts.desired).toBe(agents.length);
    await countsReach(created.id, agents.length);
    const nodes = (await replicas(created.id)).map((s) => s.nodeId).sort();
    expect(nodes).toEqual(agents.map((a) => a.nodeId).sort());
    await t.api().patch(`/v1/deployments/${created.id}`).set(as(key)).send({ replicas: 3 }).expect(409);
    await deleteAndWait(created.id);
  });

  itIf(!skip)('spreads replicas over nodes, and moves them off a draining node', async () => {
    const created = bodyOf<Deployment>(
      await t.api().post('/v1/deployments').set(as(key)).send({ templateId, replicas: 2, strategy: rolling }).expect(201),
    );
    await countsReach(created.id, 2);
    const placed = (await replicas(created.id)).map((s) => s.nodeId);
    expect(new Set(placed).size).toBe(2);
    const [drained, other] = agents;
    await t.api().post(`/v1/nodes/${drained.nodeId}/drain`).set(as(t.adminToken)).expect(200);
    try {
      await eventually(async () => {
        const now = await replicas(created.id);
        expect(now.map((s) => [s.nodeId, s.state, s.health])).toEqual([
          [other.nodeId, 'running', 'healthy'],
          [other.nodeId, 'running', 'healthy'],
        ]);
      }, { timeout: SETTLE_MS });
    } finally {
      await t.api().post(`/v1/nodes/${drained.nodeId}/uncordon`).set(as(t.adminToken)).expect(200);
    }
    await deleteAndWait(created.id);
  });

  itIf(!skip)('gives every replica its template\u2019s egress policy and dns settings, down to the desired set its node gets', async () => {
    const egress = { default: 'deny', allow: ['10.30.0.0/16'], deny: ['10.30.9.0/24'] };
    const dns = { servers: ['192.0.2.53'], search: ['svc.example.com'], options: ['ndots:1'] };
    const fenced = bodyOf<{ id: string }>(
      await t.api().post('/v1/templates').set(as(key)).send({ name: 'fenced', vcpus: 1, memoryMiB: 128, egress, dns }).expect(201),
    );
    const created = bodyOf<Deployment>(
      await t.api().post('/v1/deployments').set(as(key)).send({ templateId: fenced.id, replicas: 2, strategy: rolling }).expect(201),
    );
    await countsReach(created.id, 2);
    const sandboxes = bodyOf<(Sandbox & { egress: unknown; dns: unknown })[]>(
      await t.api().get(`/v1/sandboxes?deploymentId=${created.id}`).set(as(key)).expect(200),
    );
    expect(sandboxes.map((s) => [s.egress, s.dns])).toEqual([
      [egress, dns],
      [egress, dns],
    ]);
    for (const sandbox of sandboxes) {
      const node = agents.find((a) => a.nodeId === sandbox.nodeId);
      expect(node?.desired.at(-1)?.sandboxes.find((s) => s.id === sandbox.id)).toMatchObject({ egress, dns });
    }
    await deleteAndWait(created.id);
  });

  itIf(!skip)('refuses what cannot be: bad bodies, quota, other tenants', async () => {
    const bad = [
      { templateId, replicas: 2, perNode: true, strategy: rolling },
      { templateId, replicas: 2, strategy: { type: 'sideways' } },
      { templateId, replicas: 2, strategy: { type: 'rolling', maxUnavailable: '150%' } },
      { templateId, replicas: 2 },
    ];
    for (const body of bad) {
      const res = await t.api().post('/v1/deployments').set(as(key)).send(body).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
    const tooMany = await t.api().post('/v1/deployments').set(as(key)).send({ templateId, replicas: 7, strategy: rolling }).expect(403);
    expect(tooMany.body.error.code).toBe('QUOTA_EXCEEDED');
    await t.api().post('/v1/deployments').set(as(otherKey)).send({ templateId, replicas: 1, strategy: rolling }).expect(404);

    const mine = bodyOf<Deployment>(
      await t.api().post('/v1/deployments').set(as(key)).send({ templateId, replicas: 1, strategy: rolling }).expect(201),
    );
    await t.api().get(`/v1/deployments/${mine.id}`).set(as(otherKey)).expect(404);
    await t.api().delete(`/v1/deployments/${mine.id}`).set(as(otherKey)).expect(404);
    await t.api().post(`/v1/deployments/${mine.id}/rollouts`).set(as(otherKey)).send({ templateVersion: 1 }).expect(404);
    const theirs = bodyOf<Deployment[]>(await t.api().get('/v1/deployments').set(as(otherKey)).expect(200));
    expect(theirs).toEqual([]);
    await deleteAndWait(mine.id);
  });
});
