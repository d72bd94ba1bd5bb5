import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ExecResult, Sandbox } from '@moat/sdk';
import { api, waitFor } from '../support/api';
import { CONNECTS_TO_LISTENER, COUNTER, mostTicks, newTenantKey, sandboxGone, settledSandbox } from '../support/sandboxes';

/** A main process that sends nothing over the network. */
const SLEEPER = ['sh', '-c', 'while true; do sleep 1; done'];

interface SandboxEvent {
  state: string;
  reason?: { code: string; message: string };
}

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
  const sh = async (script: string, target = sandbox): Promise<string> => {
    const res = await api<ExecResult>('POST', `/v1/sandboxes/${target.id}/exec`, { token: key, body: { command: ['sh', '-c', script] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ exitCode: 0, stderr: '' });
    return res.body.stdout.trim();
  };
  const inState = (state: string, target = sandbox) =>
    waitFor(`sandbox ${target.id} to be ${state}`, async () => {
      const got = await api<Sandbox & { savedBytes: number | null; events: SandboxEvent[] }>('GET', `/v1/sandboxes/${target.id}`, { token: key });
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

  it('hibernates the running VM and wakes it with its processes, their listening socket and /tmp where they were', async () => {
    await sh('echo kept > /tmp/marker');
    await sh(CONNECTS_TO_LISTENER);
    const beforeAt = Date.now();
    const before = Number(await sh('cat /tmp/count'));
    expect((await api('POST', `/v1/sandboxes/${sandbox.id}/hibernate`, { token: key })).status).toBe(202);
    const hibernated = await inState('hibernated');
    const hibernatedAt = Date.now();
    expect(hibernated.savedBytes).toBeGreaterThan(1024 * 1024);
    // Its live stats do not wake it (an exec would: see below).
    const refused = await api<{ error: { code: string } }>('GET', `/v1/sandboxes/${sandbox.id}/stats`, { token: key });
    expect(refused.status).toBe(409);
    // Asleep for a while: the counter must not count it.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const wakeAt = Date.now();
    expect((await api('POST', `/v1/sandboxes/${sandbox.id}/wake`, { token: key })).status).toBe(202);
    const woken = await inState('running');
    expect(woken.savedBytes).toBeNull();
    const after = Number(await sh('cat /tmp/count'));
    // It went on from where it was, and counted at most the time it ran, not the 3 s asleep.
    expect(after).toBeGreaterThanOrEqual(before);
    expect(after - before).toBeLessThanOrEqual(mostTicks(Date.now() - beforeAt, wakeAt - hibernatedAt));
    expect(await sh('cat /tmp/marker')).toBe('kept');
    // The listener woke with it: it still accepts connections (the container was not started again: the counter went on).
    await sh(CONNECTS_TO_LISTENER);
  });

  it('a sandbox with idleTimeoutSeconds: 10 hibernates by itself; an exec wakes it and runs', async () => {
    const sleepy = await settledSandbox<Sandbox>((await create({ rootfs: 'block', idleTimeoutSeconds: 10, command: SLEEPER })).id, key);
    expect(sleepy.error ?? null).toBeNull();
    expect(sleepy.state).toBe('running');
    // The exec is a use: its idle time starts when it ends.
    await sh('echo kept > /tmp/marker', sleepy);
    const asleep = await inState('hibernated', sleepy);
    expect(asleep.savedBytes).toBeGreaterThan(1024 * 1024);
    expect(asleep.events.find((e) => e.reason?.code === 'IDLE')).toMatchObject({ state: 'running', reason: { message: expect.stringMatching(/^idle for \d+ s: hibernating$/) } });

    // No wake first: the exec waits while its node restores the VM, then runs in it.
    expect(await sh('cat /tmp/marker', sleepy)).toBe('kept');
    const woken = await api<Sandbox & { events: SandboxEvent[] }>('GET', `/v1/sandboxes/${sleepy.id}`, { token: key });
    expect(woken.body.state).toBe('running');
    expect(woken.body.events.map((e) => e.state).slice(-3)).toEqual(['hibernated', 'waking', 'running']);
  });
});
