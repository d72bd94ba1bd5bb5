import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ExecResult, Sandbox } from '@moat/sdk';
import { api } from '../support/api';
import { COUNTER, newTenantKey, sandboxGone, settledSandbox } from '../support/sandboxes';

// One VM forked into three through the API, on the node the stack runs: the clones start from one capture of it.
describe('fork through REST, against a real VM', () => {
  let key: string;
  let source: Sandbox;
  const created: string[] = [];

  const sh = async (id: string, script: string): Promise<string> => {
    const res = await api<ExecResult>('POST', `/v1/sandboxes/${id}/exec`, { token: key, body: { command: ['sh', '-c', script] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ exitCode: 0, stderr: '' });
    return res.body.stdout.trim();
  };
  const count = async (id: string): Promise<number> => Number(await sh(id, 'cat /tmp/count'));

  beforeAll(async () => {
    key = await newTenantKey('fork-e2e');
    const res = await api<Sandbox>('POST', '/v1/sandboxes', { token: key, body: { vcpus: 1, memoryMiB: 128, rootfs: 'block', command: COUNTER } });
    expect(res.status).toBe(201);
    created.push(res.body.id);
    source = await settledSandbox<Sandbox>(res.body.id, key);
    expect(source.error ?? null).toBeNull();
    expect(source.state).toBe('running');
  });

  afterAll(async () => {
    for (const id of created) await api('DELETE', `/v1/sandboxes/${id}`, { token: key });
    for (const id of created) await sandboxGone(id, key);
  });

  it('starts three clones with the source\'s files and processes, each with its own hostname, address and randomness; the source runs on', async () => {
    await sh(source.id, 'echo forked-from-here > /tmp/marker');
    const before = await count(source.id);

    const res = await api<Sandbox[]>('POST', `/v1/sandboxes/${source.id}/fork`, { token: key, body: { count: 3 } });
    expect(res.status).toBe(201);
    expect(res.body).toHaveLength(3);
    created.push(...res.body.map((clone) => clone.id));
    for (const clone of res.body) expect(clone).toMatchObject({ forkedFrom: source.id, nodeId: source.nodeId, vcpus: 1, memoryMiB: 128, rootfs: 'block' });

    const clones: Sandbox[] = [];
    for (const { id } of res.body) {
      const settled = await settledSandbox<Sandbox>(id, key);
      expect(settled.error ?? null).toBeNull();
      expect(settled.state).toBe('running');
      clones.push(settled);
    }

    for (const clone of clones) {
      expect(await sh(clone.id, 'cat /tmp/marker')).toBe('forked-from-here');
      // Its counter is the source's process, captured after `before`, and it keeps counting.
      const first = await count(clone.id);
      expect(first).toBeGreaterThanOrEqual(before);
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(await count(clone.id)).toBeGreaterThan(first);
    }

    const all = [source, ...clones];
    const identities = await Promise.all(
      all.map(async (sandbox) => ({
        hostname: await sh(sandbox.id, 'hostname'),
        random: await sh(sandbox.id, 'head -c 16 /dev/urandom | od -An -tx1'),
      })),
    );
    expect(new Set(identities.map((i) => i.hostname)).size).toBe(4);
    expect(new Set(identities.map((i) => i.random)).size).toBe(4);
    const addresses = all.map((sandbox) => sandbox.ip);
    expect(addresses.every((ip) => typeof ip === 'string' && ip.length > 0)).toBe(true);
    expect(new Set(addresses).size).toBe(4);

    // The source ran on through the capture.
    const still = await api<Sandbox>('GET', `/v1/sandboxes/${source.id}`, { token: key });
    expect(still.body.state).toBe('running');
    expect(await count(source.id)).toBeGreaterThan(before);
  });
});
