import { release } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DATA_DIR, NODE_METRICS_URL, api, waitFor } from '../support/api';
import { findLeaks } from '../support/leaks.mjs';
import { newTenantKey, settledSandbox } from '../support/sandboxes';
import type { ExecResult, Sandbox } from '@moat/sdk';

const created: string[] = [];

describe('a tenant runs a command in a real microVM sandbox', () => {
  let key: string;
  let sandbox: Sandbox;

  beforeAll(async () => {
    key = await newTenantKey('e2e');
    const res = await api<Sandbox>('POST', '/v1/sandboxes', { token: key, body: { vcpus: 1, memoryMiB: 256 } });
    expect(res.status).toBe(201);
    created.push(res.body.id);
    sandbox = await settledSandbox<Sandbox>(res.body.id, key);
  });

  afterAll(async () => {
    for (const id of created) await api('DELETE', `/v1/sandboxes/${id}`);
  });

  it('reaches running, with per-phase timings', () => {
    expect(sandbox.error).toBeUndefined();
    expect(sandbox.state).toBe('running');
    expect(sandbox.nodeId).toEqual(expect.any(String));
    const phases = sandbox.timings.map((t) => t.phase);
    expect(phases).toEqual(expect.arrayContaining(['rootfs', 'sharefs', 'agent', 'sandbox', 'container']));
    // Booted cold, or restored from the boot snapshot an earlier sandbox of this size left.
    expect(phases.filter((phase) => phase === 'vmm' || phase === 'restore')).not.toEqual([]);
  });

  it("shows in its node agent's metrics: a start, the time of each phase, a running sandbox", async () => {
    const res = await fetch(NODE_METRICS_URL);
    expect(res.status).toBe(200);
    const text = await res.text();
    const value = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? Number.NaN);
    expect(value(/^moat_sandbox_starts_total\{result="running"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^moat_sandbox_start_phase_duration_seconds_count\{phase="container"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^moat_node_sandboxes\{state="running"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^moat_build_info\{component="node-agent",/m);
  });

  it('runs uname -r in the guest kernel, not the host one', async () => {
    const res = await api<ExecResult>('POST', `/v1/sandboxes/${sandbox.id}/exec`, {
      token: key,
      body: { command: ['uname', '-r'] },
    });
    expect(res.status).toBe(200);
    expect(res.body.exitCode).toBe(0);
    expect(res.body.stdout.trim()).toBe(sandbox.guest?.kernelRelease);
    expect(res.body.stdout.trim()).not.toBe(release());
  });

  it('passes stdin, stderr and exit codes through', async () => {
    const res = await api<ExecResult>('POST', `/v1/sandboxes/${sandbox.id}/exec`, {
      token: key,
      body: { command: ['sh', '-c', 'cat; echo oops >&2; exit 7'], stdin: 'hello from stdin' },
    });
    expect(res.body).toMatchObject({ exitCode: 7, stdout: 'hello from stdin', stderr: 'oops\n', signal: 0, oomKilled: false });
  });

  it('hides the sandbox from another tenant', async () => {
    const other = await newTenantKey('e2e-other');
    expect((await api('GET', `/v1/sandboxes/${sandbox.id}`, { token: other })).status).toBe(404);
    const exec = await api('POST', `/v1/sandboxes/${sandbox.id}/exec`, { token: other, body: { command: ['true'] } });
    expect(exec.status).toBe(404);
    expect((await api('DELETE', `/v1/sandboxes/${sandbox.id}`, { token: other })).status).toBe(404);
    const list = await api<Sandbox[]>('GET', '/v1/sandboxes', { token: other });
    expect(list.body.map((s) => s.id)).not.toContain(sandbox.id);
  });

  it('rejects bad input with a clear error', async () => {
    const bad = await api<{ error: { code: string } }>('POST', `/v1/sandboxes/${sandbox.id}/exec`, {
      token: key,
      body: { command: [] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    const malformed = await api('POST', '/v1/sandboxes', { token: key, rawBody: '{"vcpus":' });
    expect(malformed.status).toBe(400);
    expect((await api('GET', '/v1/sandboxes', { token: 'not-a-key' })).status).toBe(401);
    expect((await api('GET', '/v1/sandboxes/00000000-0000-4000-8000-000000000000', { token: key })).status).toBe(404);
  });

  it('deletes the sandbox and leaves nothing of it behind', async () => {
    const res = await api('DELETE', `/v1/sandboxes/${sandbox.id}`, { token: key });
    expect(res.status).toBe(202);
    await waitFor('the sandbox to be gone', async () => {
      const got = await api('GET', `/v1/sandboxes/${sandbox.id}`, { token: key });
      return got.status === 404 ? true : undefined;
    });
    expect(findLeaks(DATA_DIR, [sandbox.id])).toEqual([]);
  });
});
