import { expect } from '@jest/globals';
import { api, waitFor } from './api';

/** A fresh tenant's API key. */
export async function newTenantKey(name: string): Promise<string> {
  const res = await api<{ apiKey: string }>('POST', '/v1/tenants', { body: { name: `${name}-${Date.now()}` } });
  expect(res.status).toBe(201);
  return res.body.apiKey;
}

/** The sandbox once it has left pending/creating: running, or failed. */
export function settledSandbox<T extends { state: string }>(id: string, token?: string, timeoutMs?: number): Promise<T> {
  return waitFor(
    `sandbox ${id} to leave pending/creating`,
    async () => {
      const got = await api<T>('GET', `/v1/sandboxes/${id}`, { token });
      return ['running', 'failed'].includes(got.body.state) ? got.body : undefined;
    },
    timeoutMs,
  );
}

/** Resolves once the sandbox is gone (its GET answers 404). */
export async function sandboxGone(id: string, token?: string): Promise<void> {
  await waitFor(`sandbox ${id} to be gone`, async () => ((await api('GET', `/v1/sandboxes/${id}`, { token })).status === 404 ? true : undefined));
}

/**
 * The most a counter ticking once a second can have counted between two reads `elapsedMs`
 * apart, leaving out `asleepMs` its sandbox was hibernated (or on its way to another node): a
 * bound on the wall clock, however slow the host, rather than a guess at how slow it is.
 */
export function mostTicks(elapsedMs: number, asleepMs = 0): number {
  return Math.ceil((elapsedMs - asleepMs) / 1000) + 1;
}
