import { UI_NAMESPACE } from '@moat/proto';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { bodyOf, DATABASES, startApp, type TestApp } from './support/harness';
import { TestAgent } from './support/test-agent';

interface Sandbox {
  id: string;
  state: string;
  nodeId: string | null;
  templateVersion: number;
  health: string;
  env: Record<string, string>;
}
interface Rollout {
  id: string;
  state: string;
  reason: string | null;
  steps: { name: string; state: string }[];
  progress: { old: number; new: number; healthy: number; desired: number };
}
interface Deployment {
  id: string;
  templateVersion: number;
  state: string;
  currentRolloutId: string | null;
  counts: { desired: number; running: number; healthy: number; unhealthy: number };
}

const REPLICAS = 3;
const SETTLE_MS = 30_000;

describe.each(DATABASES)('deployments and rollouts on $label', ({ kind, skip }) => {
  let t: TestApp;
  let tenantKey: string;
  let templateId: string;
  let agents: TestAgent[] = [];
  const asTenant = (): Record<string, string> => ({ Authorization: `Bearer ${tenantKey}` });

  async function connectAgents(nodeIds: (string | undefined)[]): Promise<void> {
    agents = [];
    for (const nodeId of nodeIds) {
      const agent = await TestAgent.connect(t.baseUrl, t.adminToken, nodeId);
      agent.simulate();
      expect(await agent.hello()).toMatchObject({ ok: true });
      agents.push(agent);
    }
  }

  beforeAll(async () => {
    if (skip) return;
    t = await startApp(kind, { MOAT_RECONCILE_INTERVAL_MS: '100' });
    const quota = { maxSandboxes: 1000, maxVcpus: 1000, maxMemoryMiB: 1_000_000 };
    tenantKey = bodyOf<{ apiKey: string }>(
      await t.api().post('/v1/tenants').set({ Authorization: `Bearer ${t.adminToken}` }).send({ name: 'web', quota }).expect(201),
    ).apiKey;
    await connectAgents([undefined, undefined, undefined]);
    const check = (command: string[]) => ({ command, intervalMs: 100, failureThreshold: 2 });
    const v1 = { vcpus: 1, memoryMiB: 128, env: { VERSION: '1' }, healthCheck: check(['true']) };
    templateId = bodyOf<{ id: string }>(await t.api().post('/v1/templates').set(asTenant()).send({ name: 'web', ...v1 }).expect(201)).id;
    const v2 = { vcpus: 1, memoryMiB: 128, env: { VERSION: '2' }, healthCheck: check(['true']) };
    await t.api().post(`/v1/templates/${templateId}/versions`).set(asTenant()).send(v2).expect(201);
    // Version 3 never passes its health check.
    const v3 = { vcpus: 1, memoryMiB: 128, env: { VERSION: '3' }, healthCheck: check(['false']) };
    await t.api().post(`/v1/templates/${templateId}/versions`).set(asTenant()).send(v3).expect(201);
  });
  afterAll(async () => {
    agents.forEach((a) => a.close());
    await t?.close();
  });

  async function sandboxesOf(deploymentId: string): Promise<Sandbox[]> {
    const all = bodyOf<Sandbox[]>(await t.api().get(`/v1/sandboxes?deploymentId=${deploymentId}`).set(asTenant()).expect(200));
    return all.filter((s) => s.state !== 'stopping');
  }

  /** Waits until the deployment runs exactly REPLICAS healthy sandboxes, all of `version`. */
  async function settledAt(deploymentId: string, version: number): Promise<Sandbox[]> {
    return eventually(async () => {
      const sandboxes = await sandboxesOf(deploymentId);
      expect(sandboxes.map((s) => [s.templateVersion, s.state, s.health])).toEqual(
        Array.from({ length: REPLICAS }, () => [version, 'running', 'healthy']),
      );
      return sandboxes;
    }, { timeout: SETTLE_MS });
  }

  async function deploy(strategy: object): Promise<string> {
    const res = await t.api()
      .post('/v1/deployments')
      .set(asTenant())
      .send({ templateId, templateVersion: 1, replicas: REPLICAS, strategy })
      .expect(201);
    const deployment = bodyOf<Deployment>(res);
    expect(deployment).toMatchObject({ templateVersion: 1, state: 'active', counts: { desired: REPLICAS } });
    await settledAt(deployment.id, 1);
    return deployment.id;
  }

  async function startRollout(deploymentId: string, templateVersion: number): Promise<string> {
    const res = await t.api().post(`/v1/deployments/${deploymentId}/rollouts`).set(asTenant()).send({ templateVersion }).expect(201);
    return bodyOf<{ id: string }>(res).id;
  }

  function rolloutReaches(id: string, state: string): Promise<Rollout> {
    return eventually(async () => {
      const rollout = bodyOf<Rollout>(await t.api().get(`/v1/rollouts/${id}`).set(asTenant()).expect(200));
      expect(rollout.state).toBe(state);
      return rollout;
    }, { timeout: SETTLE_MS });
  }

  async function remove(deploymentId: string): Promise<void> {
    await t.api().delete(`/v1/deployments/${deploymentId}`).set(asTenant()).expect(202);
    await eventually(() => t.api().get(`/v1/deployments/${deploymentId}`).set(asTenant()).expect(404), { timeout: SETTLE_MS });
    expect(await sandboxesOf(deploymentId)).toEqual([]);
  }

  const strategies = {
    rolling: { type: 'rolling', maxUnavailable: 1, maxSurge: 1, autoRollback: true },
    canary: { type: 'canary', canaryReplicas: 1, autoPromote: true, autoRollback: true },
    'blue-green': { type: 'blue-green', autoRollback: true },
    immediate: { type: 'immediate', autoRollback: true },
  };

  describe.each(Object.entries(strategies))('%s', (_name, strategy) => {
    itIf(!skip)('rolls to a healthy version and completes', async () => {
      const deploymentId = await deploy(strategy);
      const rolloutId = await startRollout(deploymentId, 2);
      const rollout = await rolloutReaches(rolloutId, 'completed');
      expect(rollout.steps.every((s) => s.state === 'done')).toBe(true);
      expect(rollout.progress).toMatchObject({ old: 0, new: REPLICAS, healthy: REPLICAS, desired: REPLICAS });
      const sandboxes = await settledAt(deploymentId, 2);
      expect(sandboxes.map((s) => s.env.VERSION)).toEqual(['2', '2', '2']);
      const deployment = bodyOf<Deployment>(await t.api().get(`/v1/deployments/${deploymentId}`).set(asTenant()).expect(200));
      expect(deployment).toMatchObject({ templateVersion: 2, state: 'active', currentRolloutId: null });
      await remove(deploymentId);
    });

    itIf(!skip)('rolls back by itself when the new version fails its health check', async () => {
      const deploymentId = await deploy(strategy);
      const rolloutId = await startRollout(deploymentId, 3);
      const rollout = await rolloutReaches(rolloutId, 'rolled-back');
      expect(rollout.reason).toMatch(/failed its health check.*rolled back to version 1/);
      expect(rollout.steps.at(-1)).toMatchObject({ name: 'roll back to version 1', state: 'done' });
      await settledAt(deploymentId, 1);
      const deployment = bodyOf<Deployment>(await t.api().get(`/v1/deployments/${deploymentId}`).set(asTenant()).expect(200));
      expect(deployment).toMatchObject({ templateVersion: 1, state: 'active' });
      await remove(deploymentId);
    });
  });

  itIf(!skip)('holds a canary for manual promotion, and pushes progress to dashboards', async () => {
    const deploymentId = await deploy({ type: 'canary', canaryReplicas: 1, maxSurge: 1, maxUnavailable: 0, autoRollback: true });
    const ui: Socket = io(`${t.baseUrl}${UI_NAMESPACE}`, { transports: ['websocket'], auth: { token: tenantKey }, forceNew: true });
    const pushed: Rollout[] = [];
    ui.on('rollout:updated', (r: Rollout) => pushed.push(r));
    await new Promise((resolve) => ui.once('connect', () => resolve(undefined)));
    try {
      const rolloutId = await startRollout(deploymentId, 2);
      await eventually(async () => {
        const rollout = bodyOf<Rollout>(await t.api().get(`/v1/rollouts/${rolloutId}`).set(asTenant()).expect(200));
        expect(rollout.steps.map((s) => s.state)).toEqual(['done', 'running', 'pending']);
      }, { timeout: SETTLE_MS });
      // Held: one canary of version 2 beside all the old replicas.
      const held = await sandboxesOf(deploymentId);
      expect(held.filter((s) => s.templateVersion === 2)).toHaveLength(1);
      expect(held.filter((s) => s.templateVersion === 1)).toHaveLength(REPLICAS);
      await t.api().post(`/v1/rollouts/${rolloutId}/promote`).set(asTenant()).expect(200);
      await t.api().post(`/v1/rollouts/${rolloutId}/promote`).set(asTenant()).expect(409);
      await rolloutReaches(rolloutId, 'completed');
      await settledAt(deploymentId, 2);
      await eventually(() => {
        expect(pushed.filter((r) => r.id === rolloutId).map((r) => r.state)).toContain('completed');
        return Promise.resolve();
      });
    } finally {
      ui.close();
    }
    await remove(deploymentId);
  });

  itIf(!skip)('pauses, resumes and aborts; one rollout at a time', async () => {
    const deploymentId = await deploy({ type: 'rolling', maxUnavailable: 1, maxSurge: 0, minHealthySeconds: 2, autoRollback: false });
    const rolloutId = await startRollout(deploymentId, 2);
    await t.api().post(`/v1/deployments/${deploymentId}/rollouts`).set(asTenant()).send({ templateVersion: 2 }).expect(409);
    await t.api().post(`/v1/rollouts/${rolloutId}/pause`).set(asTenant()).expect(200);
    await t.api().post(`/v1/rollouts/${rolloutId}/pause`).set(asTenant()).expect(409);
    await t.api().post(`/v1/rollouts/${rolloutId}/promote`).set(asTenant()).expect(409);
    // Nothing moves while paused: no replica is started or stopped. (The rollout's progress is
    // what its last pass measured, so it may still catch up with a replica started just before.)
    const idsOf = async (): Promise<string[]> => (await sandboxesOf(deploymentId)).map((s) => s.id).sort();
    const paused = await idsOf();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await idsOf()).toEqual(paused);
    const still = bodyOf<Rollout>(await t.api().get(`/v1/rollouts/${rolloutId}`).set(asTenant()).expect(200));
    expect(still.state).toBe('paused');
    await t.api().post(`/v1/rollouts/${rolloutId}/resume`).set(asTenant()).expect(200);
    await t.api().post(`/v1/rollouts/${rolloutId}/abort`).set(asTenant()).expect(200);
    await rolloutReaches(rolloutId, 'rolled-back');
    await settledAt(deploymentId, 1);
    const history = bodyOf<Rollout[]>(await t.api().get(`/v1/deployments/${deploymentId}/rollouts`).set(asTenant()).expect(200));
    expect(history.map((r) => [r.id, r.state, r.reason])).toEqual([[rolloutId, 'rolled-back', 'aborted']]);
    await remove(deploymentId);
  });

  itIf(!skip)('carries a rollout on after a control-plane restart', async () => {
    const deploymentId = await deploy({ type: 'rolling', maxUnavailable: 1, maxSurge: 0, minHealthySeconds: 1, autoRollback: true });
    const rolloutId = await startRollout(deploymentId, 2);
    await eventually(async () => {
      const rollout = bodyOf<Rollout>(await t.api().get(`/v1/rollouts/${rolloutId}`).set(asTenant()).expect(200));
      expect(rollout.progress.new).toBeGreaterThan(0);
      expect(rollout.progress.old).toBeGreaterThan(0);
    }, { timeout: SETTLE_MS });
    const nodeIds = agents.map((a) => a.nodeId);
    agents.forEach((a) => a.close());
    await t.restart();
    await connectAgents(nodeIds);
    await rolloutReaches(rolloutId, 'completed');
    await settledAt(deploymentId, 2);
    await remove(deploymentId);
  });

  itIf(!skip)('replaces the replicas of a node that went away on the other nodes', async () => {
    const deploymentId = await deploy({ type: 'rolling', autoRollback: true });
    const before = await sandboxesOf(deploymentId);
    // Anti-affinity spreads three replicas over three nodes.
    expect(new Set(before.map((s) => s.nodeId)).size).toBe(REPLICAS);
    const [lost] = agents.splice(2, 1);
    lost.close();
    await eventually(async () => {
      const after = await settledAt(deploymentId, 1);
      expect(after.some((s) => s.nodeId === lost.nodeId)).toBe(false);
    }, { timeout: SETTLE_MS });
    // Back again, the node learns the replica it held is to stop.
    const back = await TestAgent.connect(t.baseUrl, t.adminToken, lost.nodeId);
    back.simulate();
    await back.hello();
    agents.push(back);
    await remove(deploymentId);
  });
});
