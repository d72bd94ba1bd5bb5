import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DATA_DIR, api } from '../support/api';
import { findNetworkLeaks } from '../support/leaks.mjs';
import { newTenantKey, sandboxGone, settledSandbox } from '../support/sandboxes';
import type { ExecResult, Sandbox } from '@moat/sdk';

const run = promisify(execFile);

const MODELS = ['tcfilter', 'macvtap', 'bridge'] as const;
const HTTP_PORT = 8080;

async function exec(key: string, id: string, command: string[]): Promise<ExecResult> {
  const res = await api<ExecResult>('POST', `/v1/sandboxes/${id}/exec`, { token: key, body: { command, timeoutMs: 20_000 } });
  expect(res.status).toBe(200);
  return res.body;
}

async function hostCan(command: string, args: string[]): Promise<boolean> {
  return run(command, args, { timeout: 20_000 }).then(
    () => true,
    () => false,
  );
}

/**
 * Per model: two sandboxes of tenant A (one publishing a port), then — once the second is
 * deleted, since a 2-vCPU test node holds two 1-vCPU sandboxes — one of tenant B; every
 * assertion is on those three VMs.
 */
describe.each(MODELS)('sandbox networking with the %s model', (model) => {
  let keyA: string;
  let keyB: string;
  let a1: Sandbox;
  let a2: Sandbox;
  /** Sandboxes still there; `created` keeps every one for the leak check. */
  let ids: string[] = [];
  const created: string[] = [];

  const create = async (key: string, ports: { containerPort: number; protocol: string }[] = []): Promise<string> => {
    const res = await api<Sandbox>('POST', '/v1/sandboxes', { token: key, body: { vcpus: 1, memoryMiB: 256, networkModel: model, ports } });
    expect(res.status).toBe(201);
    ids.push(res.body.id);
    created.push(res.body.id);
    return res.body.id;
  };
  const settled = (key: string, id: string) => settledSandbox<Sandbox>(id, key, 300_000);

  beforeAll(async () => {
    keyA = await newTenantKey(`net-${model}-a`);
    keyB = await newTenantKey(`net-${model}-b`);
    // One at a time: the machine is shared and TCG boots are CPU-bound.
    a1 = await settled(keyA, await create(keyA, [{ containerPort: HTTP_PORT, protocol: 'tcp' }]));
    a2 = await settled(keyA, await create(keyA));
    if (a1.state === 'running') {
      const serve = await exec(keyA, a1.id, ['sh', '-c', `mkdir -p /tmp/www && echo moat-${model} > /tmp/www/index.html && httpd -p ${HTTP_PORT} -h /tmp/www`]);
      expect(serve.exitCode).toBe(0);
    }
  }, 900_000);

  afterAll(async () => {
    for (const id of ids) await api('DELETE', `/v1/sandboxes/${id}`);
  }, 120_000);

  it('runs every sandbox with the model asked for and a CNI address', () => {
    for (const sandbox of [a1, a2]) {
      expect(sandbox.error).toBeUndefined();
      expect(sandbox.state).toBe('running');
      expect(sandbox.networkModel).toBe(model);
      expect(sandbox.ip).toMatch(/^10\.250\.\d+\.\d+$/);
    }
    expect(subnetOf(a2)).toBe(subnetOf(a1));
  });

  it('gives the guest its CNI address on eth0 and reaches its gateway', async () => {
    const addr = await exec(keyA, a1.id, ['ip', '-4', 'addr', 'show', 'eth0']);
    expect(addr.stdout).toContain(`inet ${a1.ip}/`);
    const gateway = gatewayOf(a1);
    expect((await exec(keyA, a1.id, ['ping', '-c', '1', '-W', '5', gateway])).exitCode).toBe(0);
  });

  it('is reachable from the host by ping and TCP', async () => {
    // busybox-static is a host package; iputils' ping may not be installed.
    expect(await hostCan('busybox', ['ping', '-c', '1', '-W', '5', a1.ip ?? ''])).toBe(true);
    const res = await fetch(`http://${a1.ip}:${HTTP_PORT}/`, { signal: AbortSignal.timeout(15_000) });
    expect((await res.text()).trim()).toBe(`moat-${model}`);
  });

  it('publishes the port on the node', async () => {
    expect(a1.ports).toEqual([{ containerPort: HTTP_PORT, hostPort: expect.any(Number), protocol: 'tcp' }]);
    // The gateway is a local address of the node, so the DNAT for locally generated traffic applies.
    const res = await fetch(`http://${gatewayOf(a1)}:${a1.ports[0].hostPort}/`, { signal: AbortSignal.timeout(15_000) });
    expect((await res.text()).trim()).toBe(`moat-${model}`);
  });

  it("lets a tenant's sandboxes reach each other, but not another tenant's", async () => {
    const sameTenant = await exec(keyA, a2.id, httpGet(a1.ip, 10));
    expect(sameTenant.stdout).toContain(`moat-${model}`);
    expect((await exec(keyA, a2.id, ['ping', '-c', '1', '-W', '5', a1.ip ?? ''])).exitCode).toBe(0);

    expect((await api('DELETE', `/v1/sandboxes/${a2.id}`)).status).toBe(202);
    await sandboxGone(a2.id);
    ids = ids.filter((id) => id !== a2.id);
    const b1 = await settled(keyB, await create(keyB));
    expect(b1.state).toBe('running');
    // Tenants get subnets (and bridges) of their own.
    expect(subnetOf(b1)).not.toBe(subnetOf(a1));
    const otherTenant = await exec(keyB, b1.id, httpGet(a1.ip, 5));
    expect(otherTenant.exitCode).not.toBe(0);
    expect(otherTenant.stdout).not.toContain(`moat-${model}`);
    expect((await exec(keyB, b1.id, ['ping', '-c', '1', '-W', '3', a1.ip ?? ''])).exitCode).not.toBe(0);
  }, 420_000);

  it('leaves no netns, link, lease or iptables rule behind after deletion', async () => {
    for (const id of ids) expect((await api('DELETE', `/v1/sandboxes/${id}`)).status).toBe(202);
    for (const id of ids) await sandboxGone(id);
    expect(findNetworkLeaks(DATA_DIR, created)).toEqual([]);
  }, 180_000);
});

/** An HTTP GET from inside a guest with busybox nc (busybox-static's wget crashes resolving). */
function httpGet(ip: string | null, timeoutSeconds: number): string[] {
  return ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w ${timeoutSeconds} ${ip ?? ''} ${HTTP_PORT}`];
}

function subnetOf(sandbox: Sandbox): string {
  return (sandbox.ip ?? '').split('.').slice(0, 3).join('.');
}

/** Tenant subnets are /24s whose first address is the bridge's. */
function gatewayOf(sandbox: Sandbox): string {
  return `${(sandbox.ip ?? '').split('.').slice(0, 3).join('.')}.1`;
}
