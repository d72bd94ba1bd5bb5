import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DATA_DIR } from '../support/api';
import { findLeaks, vmmProcesses } from '../support/leaks.mjs';
import { apiRequest, startStack } from '../support/stack.mjs';
import type { Stack } from '../support/stack.mjs';

const NODES = 3;
const PREFIX = 'mtflt';
const POOL = '10.244.0.0/16';
/** The control plane's TTL and grace for a silent node (small, so a lost node shows soon). */
const TTL_MS = 3_000;
const GRACE_MS = 3_000;
/** TCG VMs on a 2-core machine running three node agents: minutes, not seconds. */
const STEP_TIMEOUT_MS = 600_000;

interface Node {
  id: string;
  name: string;
  state: string;
}
interface Sandbox {
  id: string;
  state: string;
  nodeId: string | null;
  ip: string | null;
  health: string;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The sandbox ids a QEMU process runs for on this machine, one entry per process. */
function runningVms(ids: string[]): string[] {
  const qemu = vmmProcesses().filter((p) => /^\d+: \S*qemu-system/.test(p));
  return qemu.flatMap((p) => ids.filter((id) => p.includes(`-name moat-${id}`)));
}

/**
 * `npm start -- --nodes 3` as the e2e runs it: three real node agents, each in a network
 * namespace of its own on a virtual LAN, joined over TLS with join tokens, running real VMs.
 * A stack of its own (the suite's has one node on this host).
 */
describe('a fleet of three real nodes', () => {
  let stack: Stack;
  let ca: string;
  const created: string[] = [];

  const call = async <T,>(method: string, path: string, body?: unknown, token?: string) =>
    apiRequest<T>(`${stack.apiUrl}${path}`, { method, body, ca, token: token ?? stack.adminToken });
  const nodes = async () => (await call<Node[]>('GET', '/v1/nodes')).body;
  /** Waits for the sandbox to run; fails at once, with its error, if it fails. */
  const runningSandbox = (id: string) =>
    until(`sandbox ${id} to run`, async () => {
      const sandbox = (await call<Sandbox & { error?: unknown }>('GET', `/v1/sandboxes/${id}`)).body;
      if (sandbox.state === 'failed') throw new Error(`sandbox ${id} failed: ${JSON.stringify(sandbox.error)}`);
      return sandbox.state === 'running' ? sandbox : undefined;
    });
  const nodeName = async (nodeId: string | null) => (await nodes()).find((n) => n.id === nodeId)?.name;

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(resolve(DATA_DIR, '..'), 'e2e-fleet-'));
    symlinkSync(join(resolve(DATA_DIR, '..'), 'guest-images'), join(dataDir, 'guest-images'));
    stack = await startStack({
      dataDir,
      apiPort: await freePort(),
      webPort: await freePort(),
      web: false,
      nodes: NODES,
      output: 'file',
      env: {
        MOAT_NET_BRIDGE_PREFIX: PREFIX,
        MOAT_NET_SUBNET_POOL: POOL,
        MOAT_DNS_SERVERS: '',
        MOAT_NODE_METRICS_ADDR: 'off',
        MOAT_HEARTBEAT_MS: '1000',
        MOAT_NODE_HEARTBEAT_TTL_MS: String(TTL_MS),
        MOAT_NODE_GRACE_MS: String(GRACE_MS),
      },
      log: () => undefined,
    });
    ca = readFileSync(stack.caFile ?? '', 'utf8');
    await until('every node to be ready', async () => {
      const list = await nodes();
      return list.length === NODES && list.every((n) => n.state === 'ready') ? list : undefined;
    });
  }, STEP_TIMEOUT_MS);

  afterAll(async () => {
    if (!stack) return;
    await stack.stop();
    for (const node of stack.nodes) expect(findLeaks(node.dataDir, created)).toEqual([]);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(`moat-fleet-${new URL(stack.apiUrl).port}-`);
  }, STEP_TIMEOUT_MS);

  it('joins each node from its own address on the LAN, with its own links and bridges', async () => {
    expect((await nodes()).map((n) => n.name).sort()).toEqual(['node-1', 'node-2', 'node-3']);
    const addresses = stack.nodes.map((node) => node.address);
    expect(new Set(addresses).size).toBe(NODES);
    for (const node of stack.nodes) {
      const links = execFileSync('ip', ['-n', node.netns ?? '', '-o', '-4', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
      expect(links).toContain(`inet ${node.address}/24`);
    }
  });

  it('spreads sandboxes over the nodes, each addressed from its own node\'s slice of the pool, and runs commands in each', async () => {
    // One at a time: three first boots at once (each node makes its boot snapshot) overload a 2-core machine under TCG.
    const running: Sandbox[] = [];
    for (let i = 0; i < NODES; i++) {
      const res = await call<Sandbox>('POST', '/v1/sandboxes', { vcpus: 1, memoryMiB: 128 });
      expect(res.status).toBe(201);
      created.push(res.body.id);
      running.push(await runningSandbox(res.body.id));
    }
    const ids = running.map((s) => s.id);
    const names = await Promise.all(running.map((s) => nodeName(s.nodeId)));
    expect(new Set(names).size).toBe(NODES);
    // 10.244.0.0/16 in four /18s: node-1 the first, node-2 the second, node-3 the third.
    for (const [i, sandbox] of running.entries()) {
      const slice = Number(names[i]?.split('-')[1]) - 1;
      expect(Math.floor(Number(sandbox.ip?.split('.')[2]) / 64)).toBe(slice);
      const exec = await call<{ exitCode: number; stdout: string }>('POST', `/v1/sandboxes/${sandbox.id}/exec`, { command: ['hostname'] });
      expect(exec).toMatchObject({ status: 200, body: { exitCode: 0 } });
      // Each node's tenant bridge lives in its namespace, none on this host.
      const node = stack.nodes.find((n) => n.name === names[i]);
      expect(execFileSync('ip', ['-n', node?.netns ?? '', '-o', 'link', 'show'], { encoding: 'utf8' })).toContain(`${PREFIX}0`);
    }
    expect(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })).not.toContain(`${PREFIX}0`);
    for (const id of ids) expect((await call('DELETE', `/v1/sandboxes/${id}`)).status).toBe(202);
    await until('the sandboxes to be gone', async () => {
      const statuses = await Promise.all(ids.map(async (id) => (await call('GET', `/v1/sandboxes/${id}`)).status));
      return statuses.every((status) => status === 404) ? true : undefined;
    });
  }, STEP_TIMEOUT_MS);

  it('speaks only TLS: a plain connection gets no answer, and a node agent refuses a certificate its CA did not sign', async () => {
    const plain = stack.apiUrl.replace('https:', 'http:');
    await expect(apiRequest(`${plain}/healthz`)).rejects.toThrow();

    const dir = mkdtempSync(join(stack.dataDir, 'wrong-ca-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-subj', '/CN=not the fleet CA', '-days', '1'], { stdio: 'ignore' });
    mkdirSync(join(dir, 'data'));
    symlinkSync(join(stack.dataDir, 'guest-images'), join(dir, 'data', 'guest-images'));
    const token = (await call<{ token: string }>('POST', '/v1/nodes/join-tokens', {})).body.token;
    const agent = spawn(process.execPath, ['apps/node-agent/dist/main.js'], {
      cwd: resolve(__dirname, '../..'),
      env: {
        PATH: process.env.PATH,
        MOAT_DATA_DIR: join(dir, 'data'),
        MOAT_CONTROL_PLANE_URL: stack.apiUrl,
        MOAT_TLS_CA: join(dir, 'ca.pem'),
        MOAT_JOIN_TOKEN: token,
        MOAT_NODE_NAME: 'impostor',
        MOAT_NODE_METRICS_ADDR: 'off',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    agent.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    agent.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((done) => agent.on('exit', done));
    expect(code).not.toBe(0);
    expect(output).toContain('the join token was not sent');
    expect((await nodes()).map((n) => n.name)).not.toContain('impostor');
  }, STEP_TIMEOUT_MS);

  it('replaces a killed node\'s replicas on the others, and stops the old ones when it returns: nothing runs twice', async () => {
    const tenant = await call<{ apiKey: string }>('POST', '/v1/tenants', { name: `fleet-${Date.now()}` });
    const key = tenant.body.apiKey;
    const template = await call<{ id: string }>('POST', '/v1/templates', { name: 'fleet', vcpus: 1, memoryMiB: 128 }, key);
    expect(template).toMatchObject({ status: 201 });
    const deployment = await call<{ id: string }>(
      'POST',
      '/v1/deployments',
      {
        templateId: template.body.id,
        templateVersion: 1,
        replicas: NODES,
        strategy: { type: 'rolling', maxUnavailable: 1, maxSurge: 0, progressDeadlineSeconds: 600, autoRollback: false },
      },
      key,
    );
    expect(deployment).toMatchObject({ status: 201 });
    const replicas = async () =>
      (await call<Sandbox[]>('GET', `/v1/sandboxes?deploymentId=${deployment.body.id}`, undefined, key)).body.filter((s) => s.state !== 'stopping');
    const spread = await until('one running replica per node', async () => {
      const current = await replicas();
      const names = new Set(await Promise.all(current.map((s) => nodeName(s.nodeId))));
      return current.length === NODES && current.every((s) => s.state === 'running') && names.size === NODES ? current : undefined;
    });
    created.push(...spread.map((s) => s.id));

    const lostNode = (await nodes()).find((n) => n.name === 'node-3');
    const lost = spread.find((s) => s.nodeId === lostNode?.id);
    expect(lost).toBeDefined();
    process.kill(stack.pid('node-3') ?? 0, 'SIGKILL');
    const killedAt = Date.now();
    let replaced: Sandbox[];
    try {
      // Its VM outlives its agent.
      expect(runningVms([lost?.id ?? ''])).toHaveLength(1);
      replaced = await until('the deployment back to three running replicas without node-3', async () => {
        const current = (await replicas()).filter((s) => s.nodeId !== lostNode?.id);
        return current.length === NODES && current.every((s) => s.state === 'running') ? current : undefined;
      });
      created.push(...replaced.map((s) => s.id));
      console.log(`[fleet] replicas replaced ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill (TTL ${TTL_MS} ms + grace ${GRACE_MS} ms)`);
      expect((await nodes()).find((n) => n.name === 'node-3')?.state).toBe('down');
    } finally {
      // Also when the test fails: only its agent can stop node-3's VMs.
      await stack.startNode('node-3');
    }
    await until('node-3 back and its replaced VM stopped', async () => {
      const back = (await nodes()).find((n) => n.name === 'node-3')?.state === 'ready';
      return back && runningVms([lost?.id ?? '']).length === 0 ? true : undefined;
    });
    const final = await replicas();
    expect(final.map((s) => s.id).sort()).toEqual(replaced.map((s) => s.id).sort());
    const everyId = [...new Set([...created])];
    // Each replica in one VM, the fenced one in none.
    expect(runningVms(everyId).sort()).toEqual(final.map((s) => s.id).sort());

    expect((await call('DELETE', `/v1/deployments/${deployment.body.id}`, undefined, key)).status).toBe(202);
    await until('the deployment to be gone', async () => ((await call('GET', `/v1/deployments/${deployment.body.id}`, undefined, key)).status === 404 ? true : undefined));
  }, STEP_TIMEOUT_MS);
});
