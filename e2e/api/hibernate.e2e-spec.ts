import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ExecResult, Sandbox } from '@moat/sdk';
import { api, waitFor } from '../support/api';
import { newTenantKey, sandboxGone, settledSandbox } from '../support/sandboxes';

/** The container's main process: a counter ticking every second. */
const COUNTER = ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 1; done'];

// One VM hibernated and woken through the API, on the node the stack runs: booting is the expensive part under TCG.
describe('hibernate and wake through REST, against a real VM', () => {
  let key: string;
  let sandbox: Sandbox;
  const created: string[] = [];

  const create = async (body: Record<string, unknown>): Promise<Sandbox> => {
    const res = await api<Sandbox>('POST', '/v1/sandboxes', { token: key, body: { vcpus: 1, memoryMiB: 128, ...body } });
    expect(res.status).toBe(201);
    created.push(res.body.id);
    return res.body;
  };
  const sh = async (script: string): Promise<string> => {
    const res = await api<ExecResult>('POST', `/v1/sandboxes/${sandbox.id}/exec`, { token: key, body: { command: ['sh', '-c', script] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ exitCode: 0, stderr: '' });
    return res.body.stdout.trim();
  };
  const inState = (state: string) =>
    waitFor(`sandbox ${sandbox.id} to be ${state}`, async () => {
      const got = await api<Sandbox & { savedBytes: number | null }>('GET', `/v1/sandboxes/${sandbox.id}`, { token: key });
      return got.body.state === state ? got.body : undefined;
    });

  beforeAll(async () => {
    key = await newTenantKey('hibernate-e2e');
    sandbox = await settledSandbox<Sandbox>((await create({ rootfs: 'block', command: COUNTER })).id, key);
    expect(sandbox.error ?? null).toBeNull();
    expect(sandbox.state).toBe('running');
  });

  afterAll(async () => {
    for (const id of created) {
      await api('DELETE', `/v1/sandboxes/${id}`, { token: key });
      await sandboxGone(id, key);
    }
  });

  it('refuses a sandbox whose rootfs QEMU cannot save', async () => {
    const other = await create({ rootfs: 'virtiofs' });
    const res = await api<{ error: { code: string; message: string } }>('POST', `/v1/sandboxes/${other.id}/hibernate`, { token: key });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('HIBERNATE_UNSUPPORTED');
  });

  it('hibernates the running VM and wakes it with its process and /tmp where they were', async () => {
    await sh('echo kept > /tmp/marker');
    const before = Number(await sh('cat /tmp/count'));
    expect((await api('POST', `/v1/sandboxes/${sandbox.id}/hibernate`, { token: key })).status).toBe(202);
    const hibernated = await inState('hibernated');
    expect(hibernated.savedBytes).toBeGreaterThan(1024 * 1024);
    const refused = await api<{ error: { code: string } }>('POST', `/v1/sandboxes/${sandbox.id}/exec`, { token: key, body: { command: ['true'] } });
    expect(refused.status).toBe(409);
    // Asleep for a while: the counter must not count it.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await api('POST', `/v1/sandboxes/${sandbox.id}/wake`, { token: key })).status).toBe(202);
    const woken = await inState('running');
    expect(woken.savedBytes).toBeNull();
    const after = Number(await sh('cat /tmp/count'));
    expect(after).toBeGreaterThanOrEqual(before);
    expect(after).toBeLessThan(before + 3);
    expect(await sh('cat /tmp/marker')).toBe('kept');
  });
});
