import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { api, waitFor } from '../support/api';
import { newTenantKey, sandboxGone, settledSandbox } from '../support/sandboxes';
import type { ApiErrorBody, ExecResult, Sandbox } from '@moat/sdk';

/** The host pid of a sandbox's VMM: the QEMU process that names it. */
function vmmPid(sandboxId: string): number {
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[0].endsWith('qemu-system-x86_64') && argv.some((arg) => arg.startsWith(`moat-${sandboxId}`))) return Number(pid);
    } catch {
      // Exited meanwhile.
    }
  }
  throw new Error(`no VMM of sandbox ${sandboxId}`);
}

/** Nothing dies unnoticed: a command that cannot run, a VMM killed under a sandbox. */
describe('failures: what a user sees when something breaks', () => {
  let key: string;
  let sandbox: Sandbox;

  beforeAll(async () => {
    key = await newTenantKey('failures');
    const created = await api<Sandbox>('POST', '/v1/sandboxes', { token: key, body: { vcpus: 1, memoryMiB: 256 } });
    expect(created.status).toBe(201);
    sandbox = await settledSandbox<Sandbox>(created.body.id, key, 600_000);
    expect(sandbox.state).toBe('running');
  }, 600_000);

  afterAll(async () => {
    if (sandbox) await api('DELETE', `/v1/sandboxes/${sandbox.id}`, { token: key });
    if (sandbox) await sandboxGone(sandbox.id, key).catch(() => undefined);
  }, 300_000);

  it('answers a command that cannot run with its exit code and the reason, as a shell would', async () => {
    const exec = (body: Record<string, unknown>) => api<ExecResult>('POST', `/v1/sandboxes/${sandbox.id}/exec`, { token: key, body });
    const missing = await exec({ command: ['/no/such/binary'] });
    expect(missing.status).toBe(200);
    expect(missing.body).toMatchObject({ exitCode: 127, stdout: '' });
    expect(missing.body.stderr).toContain('/no/such/binary');
    const notExecutable = await exec({ command: ['/etc/passwd'] });
    expect(notExecutable.body.exitCode).toBe(126);
    const noDir = await exec({ command: ['true'], cwd: '/no/such/dir' });
    expect(noDir.status).toBe(200);
    expect(noDir.body.exitCode).toBe(126);
    expect(noDir.body.stderr).toContain('/no/such/dir');
  });

  it('fails a sandbox whose VMM is killed within seconds, saying how, and refuses exec, stats and pause with 409', async () => {
    process.kill(vmmPid(sandbox.id), 'SIGKILL');
    const killedAt = Date.now();
    const failed = await waitFor(
      'the sandbox to fail',
      async () => {
        const got = await api<Sandbox>('GET', `/v1/sandboxes/${sandbox.id}`, { token: key });
        return got.body.state === 'failed' ? got.body : undefined;
      },
      30_000,
    );
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(failed.error?.code).toBe('VMM_EXITED');
    expect(failed.error?.message).toContain('signal 9 (SIGKILL)');
    for (const [method, path, body] of [
      ['POST', 'exec', { command: ['true'] }],
      ['GET', 'stats', undefined],
      ['POST', 'pause', undefined],
    ] as const) {
      const res = await api<ApiErrorBody>(method, `/v1/sandboxes/${sandbox.id}/${path}`, { token: key, ...(body && { body }) });
      expect({ path, status: res.status }).toEqual({ path, status: 409 });
      expect(res.body.error.code).toBe('SANDBOX_NOT_RUNNING');
    }
  });
});

/** With `restartPolicy: on-failure`, a sandbox whose VMM dies runs again, counting its restarts. */
describe('failures: a sandbox that restarts on failure', () => {
  let key: string;
  let id: string;

  beforeAll(async () => {
    key = await newTenantKey('restarts');
  });
  afterAll(async () => {
    if (id) await api('DELETE', `/v1/sandboxes/${id}`, { token: key });
    if (id) await sandboxGone(id, key).catch(() => undefined);
  }, 300_000);

  it('is running again after its VMM is killed, with a restart count and the reason in its events', async () => {
    const created = await api<Sandbox>('POST', '/v1/sandboxes', {
      token: key,
      body: { vcpus: 1, memoryMiB: 256, restartPolicy: { type: 'on-failure', maxRestarts: 2, backoffSeconds: 1 } },
    });
    expect(created.status).toBe(201);
    id = created.body.id;
    expect((await settledSandbox<Sandbox>(id, key, 600_000)).state).toBe('running');
    const first = vmmPid(id);
    process.kill(first, 'SIGKILL');
    const restarted = await waitFor(
      'the sandbox to run again',
      async () => {
        const got = await api<Sandbox>('GET', `/v1/sandboxes/${id}`, { token: key });
        return got.body.state === 'running' && got.body.restartCount === 1 ? got.body : undefined;
      },
      300_000,
    );
    expect(vmmPid(id)).not.toBe(first);
    const failure = restarted.events?.find((event) => event.state === 'failed');
    expect(failure?.reason?.code).toBe('VMM_EXITED');
    expect(restarted.events?.some((event) => event.reason?.code === 'RESTARTED')).toBe(true);
    const exec = await api<ExecResult>('POST', `/v1/sandboxes/${id}/exec`, { token: key, body: { command: ['echo', 'back'] } });
    expect(exec.body.stdout).toBe('back\n');
  });
});

/** A deployment replica whose VMM is killed, with no health check to notice, is replaced. */
describe('failures: a killed replica', () => {
  let key: string;
  let deploymentId: string;

  beforeAll(async () => {
    key = await newTenantKey('replica-kill');
  });
  afterAll(async () => {
    if (!deploymentId) return;
    await api('DELETE', `/v1/deployments/${deploymentId}`, { token: key });
    await waitFor('the deployment to be gone', async () => ((await api('GET', `/v1/deployments/${deploymentId}`, { token: key })).status === 404 ? true : undefined), 300_000).catch(() => undefined);
  }, 400_000);

  it('is replaced by its deployment', async () => {
    const template = await api<{ id: string }>('POST', '/v1/templates', { token: key, body: { name: `kill-${Date.now()}`, vcpus: 1, memoryMiB: 256 } });
    const deployment = await api<{ id: string }>('POST', '/v1/deployments', { token: key, body: { templateId: template.body.id, replicas: 1, strategy: { type: 'rolling' } } });
    expect(deployment.status).toBe(201);
    deploymentId = deployment.body.id;
    const running = (except?: string) =>
      waitFor('a running replica', async () => {
        const list = await api<Sandbox[]>('GET', `/v1/sandboxes?deploymentId=${deploymentId}`, { token: key });
        return list.body.find((s) => s.state === 'running' && s.id !== except);
      }, 600_000);
    const victim = await running();
    process.kill(vmmPid(victim.id), 'SIGKILL');
    const replacement = await running(victim.id);
    expect(replacement.id).not.toBe(victim.id);
  });
});
