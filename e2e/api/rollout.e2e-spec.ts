import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { api, waitFor } from '../support/api';
import { MoatCli } from '../support/cli';
import type { ExecResult, Rollout, Sandbox } from '@moat/sdk';

const REPLICAS = 2;
/** VMs boot in seconds on an idle machine, several times slower on a busy one under TCG. */
const STEP_TIMEOUT_MS = 900_000;

/**
 * A deployment of real microVMs moves to a new template version, and back by itself from one
 * whose health check fails. Lean on purpose (TCG VMs on a small machine): two replicas,
 * maxSurge 0, so at most two VMs run at any time.
 */
describe('a deployment rolls out across real microVMs and rolls back a bad version', () => {
  let key: string;
  let templateId: string;
  let deploymentId: string;

  const spec = (greeting: string, check: string[]) => ({
    vcpus: 1,
    memoryMiB: 256,
    env: { GREETING: greeting },
    healthCheck: { command: check, intervalMs: 2_000, timeoutMs: 20_000, failureThreshold: 2 },
  });

  async function replicas(): Promise<Sandbox[]> {
    const res = await api<Sandbox[]>('GET', `/v1/sandboxes?deploymentId=${deploymentId}`, { token: key });
    return res.body.filter((s) => s.state !== 'stopping');
  }

  /** Waits for exactly REPLICAS running, healthy replicas, all of `version`. */
  function settledAt(version: number): Promise<Sandbox[]> {
    return waitFor(
      `${REPLICAS} healthy replicas of version ${version}`,
      async () => {
        const current = await replicas();
        const ok =
          current.length === REPLICAS &&
          current.every((s) => s.templateVersion === version && s.state === 'running' && s.health === 'healthy');
        return ok ? current : undefined;
      },
      600_000,
    );
  }

  function rolloutEnds(id: string): Promise<Rollout> {
    return waitFor(
      `rollout ${id} to finish`,
      async () => {
        const res = await api<Rollout>('GET', `/v1/rollouts/${id}`, { token: key });
        return res.body.state === 'progressing' ? undefined : res.body;
      },
      600_000,
    );
  }

  async function greetings(sandboxes: Sandbox[]): Promise<string[]> {
    const out: string[] = [];
    for (const sandbox of sandboxes) {
      const res = await api<ExecResult>('POST', `/v1/sandboxes/${sandbox.id}/exec`, {
        token: key,
        body: { command: ['sh', '-c', 'echo $GREETING'] },
      });
      expect(res.status).toBe(200);
      out.push(res.body.stdout.trim());
    }
    return out;
  }

  // The tenant's operator drives rollouts with the CLI, as one would.
  const cli = new MoatCli();

  beforeAll(async () => {
    const tenant = await api<{ apiKey: string }>('POST', '/v1/tenants', { body: { name: `rollout-${Date.now()}` } });
    key = tenant.body.apiKey;
    expect((await cli.login(key)).status).toBe(0);
    const created = await api<{ id: string }>('POST', '/v1/templates', {
      token: key,
      body: { name: 'greeter', ...spec('hello from v1', ['true']) },
    });
    expect(created.status).toBe(201);
    templateId = created.body.id;
    for (const next of [spec('hello from v2', ['true']), spec('hello from v3', ['false'])]) {
      expect((await api('POST', `/v1/templates/${templateId}/versions`, { token: key, body: next })).status).toBe(201);
    }
    const deployment = await api<{ id: string }>('POST', '/v1/deployments', {
      token: key,
      body: {
        templateId,
        templateVersion: 1,
        replicas: REPLICAS,
        strategy: { type: 'rolling', maxUnavailable: 1, maxSurge: 0, progressDeadlineSeconds: 600, autoRollback: true },
      },
    });
    expect(deployment.status).toBe(201);
    deploymentId = deployment.body.id;
  });

  afterAll(async () => {
    cli.dispose();
    if (!deploymentId) return;
    await api('DELETE', `/v1/deployments/${deploymentId}`, { token: key });
    await waitFor('the deployment to be gone', async () => {
      const res = await api('GET', `/v1/deployments/${deploymentId}`, { token: key });
      return res.status === 404 ? true : undefined;
    });
  }, STEP_TIMEOUT_MS);

  it('runs version 1 in every replica', async () => {
    expect(await greetings(await settledAt(1))).toEqual(['hello from v1', 'hello from v1']);
  }, STEP_TIMEOUT_MS);

  it('rolls to version 2: the new environment is visible inside the sandboxes', async () => {
    const started = await cli.run(['-o', 'json', 'rollout', 'start', deploymentId, '--version', '2']);
    expect(started.status).toBe(0);
    const { id } = JSON.parse(started.stdout) as { id: string };
    // Follows the rollout to its end; exit 0 when it completed.
    const watched = await cli.run(['-o', 'json', 'rollout', 'status', '-w', id], { timeoutMs: 600_000 });
    expect(watched.status).toBe(0);
    expect(JSON.parse(watched.stdout)).toMatchObject({ id, state: 'completed', progress: { old: 0, new: REPLICAS, healthy: REPLICAS } });
    expect(await greetings(await settledAt(2))).toEqual(['hello from v2', 'hello from v2']);
  }, STEP_TIMEOUT_MS);

  it('rolls back by itself from version 3, whose health check fails', async () => {
    const started = await api<{ id: string }>('POST', `/v1/deployments/${deploymentId}/rollouts`, {
      token: key,
      body: { templateVersion: 3 },
    });
    // A rollout that rolled back is what a script waiting on it must see: exit 3.
    expect((await cli.run(['rollout', 'status', '-w', started.body.id], { timeoutMs: 600_000 })).status).toBe(3);
    const rollout = await rolloutEnds(started.body.id);
    expect(rollout.state).toBe('rolled-back');
    expect(rollout.reason).toMatch(/failed its health check.*rolled back to version 2/);
    expect(await greetings(await settledAt(2))).toEqual(['hello from v2', 'hello from v2']);
    const deployment = await api<{ templateVersion: number }>('GET', `/v1/deployments/${deploymentId}`, { token: key });
    expect(deployment.body.templateVersion).toBe(2);
  }, STEP_TIMEOUT_MS);
});
