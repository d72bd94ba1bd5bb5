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

/** The port the counter's sandbox listens on. */
export const LISTENER_PORT = 9000;
/**
 * A container main process that keeps state a move must carry: a TCP listener on LISTENER_PORT
 * (busybox nc, a `cat` per connection) and a counter ticking every second into /tmp/count.
 */
export const COUNTER = ['sh', '-c', `nc -ll -p ${LISTENER_PORT} -e cat & i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 1; done`];
/** A script, run in the counter's sandbox, that succeeds when its listener accepts a connection (tried for 5 s: it starts with the sandbox). */
export const CONNECTS_TO_LISTENER = `for i in 1 2 3 4 5; do nc -w 3 127.0.0.1 ${LISTENER_PORT} </dev/null 2>/dev/null && exit 0; sleep 1; done; exit 1`;
