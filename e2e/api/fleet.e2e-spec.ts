import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testCertificates } from '@moat/test-support';
import { DATA_DIR, waitFor } from '../support/api';
import { CONNECTS_TO_LISTENER, COUNTER, mostTicks } from '../support/sandboxes';
import { findLeaks, vmmProcesses } from '../support/leaks.mjs';
import { freePort, freshDataDir } from '../support/own-stack.mjs';
import { apiRequest, startStack } from '../support/stack.mjs';
import type { Stack } from '../support/stack.mjs';
import type { FleetNode, Sandbox } from '@moat/sdk';

type Tenanted = { key: string };

const NODES = 3;
/** Two echo servers (busybox nc, a `cat` per connection): one for the tenant network, one published on the node. */
const ECHO_PORT = 9000;
const PUBLISHED_ECHO_PORT = 9001;
const ECHO_SERVERS = ['sh', '-c', `nc -ll -p ${ECHO_PORT} -e cat & nc -ll -p ${PUBLISHED_ECHO_PORT} -e cat & wait`];
/**
 * A main process that holds one TCP connection to `ip`'s echo server, sending a number a second
 * and keeping what comes back in /tmp/echoed. It connects again only until something came back:
 * a connection that breaks afterwards stays broken, so echoes that go on mean the same connection.
 */
const echoLoop = (ip: string | null | undefined) => [
  'sh',
  '-c',
  `until [ -s /tmp/echoed ]; do (i=0; while true; do i=$((i+1)); echo $i; sleep 1; done) | nc ${ip ?? ''} ${ECHO_PORT} > /tmp/echoed; sleep 1; done; exec sleep 1000000`,
];
/** A guest's web server, published on its node. */
const HTTP_PORT = 8080;
const PREFIX = 'mtflt';
const POOL = '10.244.0.0/16';
/** The control plane's TTL and grace for a silent node (small, so a lost node shows soon). */
const TTL_MS = 3_000;
const GRACE_MS = 3_000;
/** TCG VMs on a 2-core machine running three node agents: minutes, not seconds. */
const STEP_TIMEOUT_MS = 600_000;

const until = <T,>(what: string, check: () => Promise<T | undefined>) => waitFor(what, check, STEP_TIMEOUT_MS);

/** A TCP client of an echo server from this host: a numbered line every half second, the echoed lines counted, how it ended. */
function echoClient(host: string | undefined, port: number | undefined) {
  const socket = connect({ host, port: port ?? 0 });
  let echoed = '';
  let ended: string | undefined;
  let sent = 0;
  socket.on('data', (chunk: Buffer) => (echoed += chunk.toString()));
  socket.on('error', (error: NodeJS.ErrnoException) => (ended ??= error.code ?? error.message));
  socket.on('close', () => (ended ??= 'closed'));
  const ticker = setInterval(() => ended ?? socket.write(`${++sent}\n`), 500);
  return {
    lines: () => echoed.split('\n').filter(Boolean).length,
    ended: () => ended,
    close: () => {
      clearInterval(ticker);
      socket.destroy();
    },
  };
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
  const nodes = async () => (await call<FleetNode[]>('GET', '/v1/nodes')).body;
  /** Waits for the sandbox to run; fails at once, with its error, if it fails. */
  const runningSandbox = (id: string) =>
    until(`sandbox ${id} to run`, async () => {
      const sandbox = (await call<Sandbox & { error?: unknown }>('GET', `/v1/sandboxes/${id}`)).body;
      if (sandbox.state === 'failed') throw new Error(`sandbox ${id} failed: ${JSON.stringify(sandbox.error)}`);
      return sandbox.state === 'running' ? sandbox : undefined;
    });
  const nodeName = async (nodeId: string | null) => (await nodes()).find((n) => n.id === nodeId)?.name;
  const nodeNamed = async (name: string) => {
    const node = (await nodes()).find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  };
  const setCordoned = async (node: FleetNode, cordoned: boolean) =>
    expect((await call('POST', `/v1/nodes/${node.id}/${cordoned ? 'cordon' : 'uncordon'}`)).status).toBe(200);
  const newTenant = async (name: string): Promise<Tenanted> => ({ key: (await call<{ apiKey: string }>('POST', '/v1/tenants', { name: `${name}-${Date.now()}` })).body.apiKey });
  /** Creates a 1-vCPU 128 MiB sandbox (unless `body` says otherwise) and waits for it to run. */
  const createSandbox = async ({ key }: Tenanted, body: object) => {
    const res = await call<Sandbox>('POST', '/v1/sandboxes', { vcpus: 1, memoryMiB: 128, ...body }, key);
    expect(res.status).toBe(201);
    created.push(res.body.id);
    return runningSandbox(res.body.id);
  };
  const getSandbox = async ({ key }: Tenanted, id: string) => (await call<Sandbox>('GET', `/v1/sandboxes/${id}`, undefined, key)).body;
  /** Runs a script in the sandbox, expects it to succeed quietly, and gives its trimmed output. */
  const shIn = async ({ key }: Tenanted, sandbox: Sandbox, script: string) => {
    const out = (await call<{ exitCode: number; stdout: string; stderr: string }>('POST', `/v1/sandboxes/${sandbox.id}/exec`, { command: ['sh', '-c', script], timeoutMs: 30_000 }, key)).body;
    expect(out).toMatchObject({ exitCode: 0, stderr: '' });
    return out.stdout.trim();
  };
  const deleteSandboxes = async ({ key }: Tenanted, sandboxes: Sandbox[]) => {
    for (const sandbox of sandboxes) expect((await call('DELETE', `/v1/sandboxes/${sandbox.id}`, undefined, key)).status).toBe(202);
  };

  beforeAll(async () => {
    const dataDir = freshDataDir(resolve(DATA_DIR, '..'), 'e2e-fleet-');
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

  it("spreads a tenant's sandboxes over the nodes on one subnet: they reach each other across nodes, another tenant's reach none of them, published ports answer on their node", async () => {
    const tenantKey = async (name: string) => (await call<{ apiKey: string }>('POST', '/v1/tenants', { name: `${name}-${Date.now()}` })).body.apiKey;
    const [keyA, keyB] = [await tenantKey('fleet-net-a'), await tenantKey('fleet-net-b')];
    const create = async (key: string, extra: object = {}) => {
      const res = await call<Sandbox>('POST', '/v1/sandboxes', { vcpus: 1, memoryMiB: 128, ...extra }, key);
      expect(res.status).toBe(201);
      created.push(res.body.id);
      return runningSandbox(res.body.id);
    };
    const exec = async (key: string, sandbox: Sandbox, command: string[]) =>
      (await call<{ exitCode: number; stdout: string }>('POST', `/v1/sandboxes/${sandbox.id}/exec`, { command, timeoutMs: 30_000 }, key)).body;
    /** The addresses among `targets` that `from` cannot ping, in one exec. */
    const unreachable = async (key: string, from: Sandbox, targets: Sandbox[]) => {
      const loop = `for ip in ${targets.map((t) => t.ip).join(' ')}; do ping -c 1 -W 2 $ip >/dev/null 2>&1 || echo $ip; done`;
      const result = await exec(key, from, ['sh', '-c', loop]);
      expect(result.exitCode).toBe(0);
      return result.stdout.split('\n').filter(Boolean);
    };
    const subnet = (sandbox: Sandbox) => sandbox.ip?.split('.').slice(0, 3).join('.');

    // The first on each node one at a time: three first boots at once (each node makes its boot
    // snapshot) overload a 2-core machine under TCG; then one more on each, together.
    const a: Sandbox[] = [await create(keyA, { ports: [{ containerPort: HTTP_PORT, protocol: 'tcp' }] })];
    for (let i = 1; i < NODES; i++) a.push(await create(keyA));
    a.push(...(await Promise.all(Array.from({ length: NODES }, () => create(keyA)))));
    const names = await Promise.all(a.map((s) => nodeName(s.nodeId)));
    // spread: two on each node.
    expect(new Set(names).size).toBe(NODES);
    for (const name of new Set(names)) expect(names.filter((n) => n === name)).toHaveLength(2);
    // The control plane plans the tenant's addresses: one subnet of the pool across the fleet, no address twice.
    expect(new Set(a.map((s) => s.ip)).size).toBe(a.length);
    expect(new Set(a.map(subnet)).size).toBe(1);
    expect(a[0].ip).toMatch(/^10\.244\.\d+\.\d+$/);
    for (const [i, sandbox] of a.entries()) {
      expect(await exec(keyA, sandbox, ['hostname'])).toMatchObject({ exitCode: 0 });
      // Each node's tenant bridge and its overlay port live in the node's namespace, none on this host.
      const node = stack.nodes.find((n) => n.name === names[i]);
      const links = execFileSync('ip', ['-n', node?.netns ?? '', '-o', 'link', 'show'], { encoding: 'utf8' });
      expect(links).toContain(`${PREFIX}0:`);
      expect(links).toContain(`${PREFIX}v0:`);
    }
    expect(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })).not.toContain(`${PREFIX}0`);
    // Each pings every other, on its node and across nodes.
    for (const from of a) expect(await unreachable(keyA, from, a.filter((s) => s !== from))).toEqual([]);
    // A published port answers on its node's address, from the LAN.
    expect(await exec(keyA, a[0], ['sh', '-c', `mkdir -p /tmp/www && echo fleet-port > /tmp/www/index.html && httpd -p ${HTTP_PORT} -h /tmp/www`])).toMatchObject({ exitCode: 0 });
    const published = (await call<Sandbox>('GET', `/v1/sandboxes/${a[0].id}`, undefined, keyA)).body.ports?.[0];
    const host = stack.nodes.find((n) => n.name === names[0])?.address;
    const page = await until('the published port to answer', async () => {
      const res = await fetch(`http://${host}:${published?.hostPort}/`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      return res?.ok ? res.text() : undefined;
    });
    expect(page).toBe('fleet-port\n');

    const b = await create(keyB);
    expect(subnet(b)).not.toBe(subnet(a[0]));
    expect((await unreachable(keyB, b, a)).sort()).toEqual(a.map((s) => s.ip).sort());

    const ids = [...a, b].map((s) => s.id);
    for (const id of ids) expect((await call('DELETE', `/v1/sandboxes/${id}`)).status).toBe(202);
    await until('the sandboxes to be gone', async () => {
      const statuses = await Promise.all(ids.map(async (id) => (await call('GET', `/v1/sandboxes/${id}`)).status));
      return statuses.every((status) => status === 404) ? true : undefined;
    });
    // The last sandbox of a tenant on a node takes the tenant's bridge and overlay port with it.
    for (const node of stack.nodes) expect(execFileSync('ip', ['-n', node.netns ?? '', '-o', 'link', 'show'], { encoding: 'utf8' })).not.toContain(`${PREFIX}v`);
  }, STEP_TIMEOUT_MS);

  it('wakes a hibernated sandbox on another node when its own is cordoned: its counter, listener, /tmp and address as they were, nothing of it left on the first', async () => {
    const tenant = await newTenant('fleet-wake');
    const { key } = tenant;
    const sandbox = await createSandbox(tenant, { rootfs: 'block', command: COUNTER });
    const get = () => getSandbox(tenant, sandbox.id);
    const sh = (script: string) => shIn(tenant, sandbox, script);
    await sh('echo kept > /tmp/marker');
    await sh(CONNECTS_TO_LISTENER);
    const beforeAt = Date.now();
    const before = Number(await sh('cat /tmp/count'));
    expect((await call('POST', `/v1/sandboxes/${sandbox.id}/hibernate`, undefined, key)).status).toBe(202);
    await until('the sandbox to hibernate', async () => ((await get()).state === 'hibernated' ? true : undefined));
    const homeName = await nodeName(sandbox.nodeId);
    const home = stack.nodes.find((n) => n.name === homeName);
    expect((await call('POST', `/v1/nodes/${sandbox.nodeId}/cordon`)).status).toBe(200);
    try {
      expect((await call('POST', `/v1/sandboxes/${sandbox.id}/wake`, undefined, key)).status).toBe(202);
      // Waking (its saved state moving), then running elsewhere; back to hibernated means the move failed.
      const woken = await until('the sandbox to wake on another node', async () => {
        const current = await get();
        if (current.state === 'hibernated' || current.state === 'failed') throw new Error(`the wake failed: ${JSON.stringify(current.events?.slice(-3))}`);
        return current.state === 'running' ? current : undefined;
      });
      expect(woken.nodeId).not.toBe(sandbox.nodeId);
      expect(woken.ip).toBe(sandbox.ip);
      const after = Number(await sh('cat /tmp/count'));
      expect(after).toBeGreaterThanOrEqual(before);
      expect(after - before).toBeLessThanOrEqual(mostTicks(Date.now() - beforeAt));
      expect(await sh('cat /tmp/marker')).toBe('kept');
      await sh(CONNECTS_TO_LISTENER);
      // The first node let go of its copy: no dir of it there.
      await until('the first node to remove its copy', () => Promise.resolve(home && !existsSync(join(home.dataDir, 'node', 'sandboxes', sandbox.id)) ? true : undefined));
    } finally {
      expect((await call('POST', `/v1/nodes/${sandbox.nodeId}/uncordon`)).status).toBe(200);
    }
  }, STEP_TIMEOUT_MS);

  it('live-migrates a running sandbox to another node: its counter never stops, its /tmp, address and peers stay', async () => {
    const tenant = await newTenant('fleet-migrate');
    const sandbox = await createSandbox(tenant, { rootfs: 'block', command: COUNTER });
    const peer = await createSandbox(tenant, {});
    await shIn(tenant, sandbox, 'echo kept > /tmp/marker');
    const before = Number(await shIn(tenant, sandbox, 'cat /tmp/count'));
    const migrating = await call<Sandbox>('POST', `/v1/sandboxes/${sandbox.id}/migrate`, {}, tenant.key);
    expect(migrating.status).toBe(202);
    expect(migrating.body.state).toBe('migrating');
    const moved = await until('the sandbox to run on another node', async () => {
      const current = await getSandbox(tenant, sandbox.id);
      if (current.state === 'failed') throw new Error(`the migration failed: ${JSON.stringify(current.events?.slice(-3))}`);
      if (current.state === 'running' && current.nodeId === sandbox.nodeId) throw new Error(`the migration did not happen: ${JSON.stringify(current.events?.slice(-3))}`);
      return current.state === 'running' ? current : undefined;
    });
    expect(moved.nodeId).not.toBe(sandbox.nodeId);
    expect(moved.ip).toBe(sandbox.ip);
    // The counter went on through the move: neither restarted nor stopped for long.
    const after = Number(await shIn(tenant, moved, 'cat /tmp/count'));
    expect(after).toBeGreaterThanOrEqual(before);
    expect(await shIn(tenant, moved, 'cat /tmp/marker')).toBe('kept');
    // Its tenant's other sandbox still reaches it at its address, now on another node.
    await until('the peer to reach it at its address', async () => {
      const out = (await call<{ exitCode: number }>('POST', `/v1/sandboxes/${peer.id}/exec`, { command: ['ping', '-c', '1', '-W', '2', sandbox.ip ?? ''], timeoutMs: 30_000 }, tenant.key)).body;
      return out.exitCode === 0 ? true : undefined;
    });
    await deleteSandboxes(tenant, [sandbox, peer]);
  }, STEP_TIMEOUT_MS);

  it("drains a node by live migration: both its sandboxes run on elsewhere; a TCP connection over the tenant network lives through the move, one through the old node's published port is reset", async () => {
    const tenant = await newTenant('fleet-drain');
    const [n1, n2, n3] = await Promise.all(['node-1', 'node-2', 'node-3'].map(nodeNamed));
    let outside: ReturnType<typeof echoClient> | undefined;
    // Deleted however the test ends: a sandbox left running would be counted by the next test.
    const created: Sandbox[] = [];
    try {
      // Both on node-1 (the others cordoned while they are placed), their peer on node-2.
      await setCordoned(n2, true);
      await setCordoned(n3, true);
      const server = await createSandbox(tenant, { rootfs: 'block', command: ECHO_SERVERS, ports: [{ containerPort: PUBLISHED_ECHO_PORT, protocol: 'tcp' }] });
      const other = await createSandbox(tenant, { rootfs: 'block', command: COUNTER });
      created.push(server, other);
      await setCordoned(n2, false);
      await setCordoned(n1, true);
      const peer = await createSandbox(tenant, { command: echoLoop(server.ip) });
      created.push(peer);
      await setCordoned(n3, false);
      expect([server.nodeId, other.nodeId, peer.nodeId]).toEqual([n1.id, n1.id, n2.id]);

      // A connection over the tenant network (the peer's) and one from outside through node-1's published port.
      const peerEchoes = async () => Number((await shIn(tenant, peer, 'cat /tmp/echoed 2>/dev/null | tail -n 1')) || 0);
      await until("the peer's connection to echo", async () => ((await peerEchoes()) > 0 ? true : undefined));
      const hostPort = (await getSandbox(tenant, server.id)).ports?.[0]?.hostPort;
      const client = echoClient(stack.nodes.find((n) => n.name === n1.name)?.address, hostPort);
      outside = client;
      await until('the outside connection to echo', () => Promise.resolve(client.lines() > 0 ? true : undefined));
      const countBefore = Number(await shIn(tenant, other, 'cat /tmp/count'));

      expect((await call('POST', `/v1/nodes/${n1.id}/drain`, { mode: 'migrate' })).status).toBe(200);
      const moved = await until('both sandboxes to run on other nodes', async () => {
        const list = await Promise.all([server, other].map((s) => getSandbox(tenant, s.id)));
        const failed = list.find((s) => s.state === 'failed');
        if (failed) throw new Error(`sandbox ${failed.id} failed: ${JSON.stringify(failed.events.slice(-3))}`);
        return list.every((s) => s.state === 'running' && s.nodeId !== n1.id) ? list : undefined;
      });
      // Migrated, not replaced: the same sandboxes at the same addresses, each told so.
      expect(moved.map((s) => s.ip)).toEqual([server.ip, other.ip]);
      for (const sandbox of moved) expect(sandbox.events.map((e) => e.reason?.code)).toContain('DRAIN_MIGRATED');
      expect(Number(await shIn(tenant, moved[1], 'cat /tmp/count'))).toBeGreaterThanOrEqual(countBefore);
      // The peer's connection lived through the move: it echoes on, and its client never connects twice.
      const atMove = await peerEchoes();
      await until("the peer's connection to echo on after the move", async () => ((await peerEchoes()) > atMove + 2 ? true : undefined));
      // The outside one was to node-1's address, which the sandbox left: node-1 forgot its flow
      // and answers what comes next with a reset, as a host that lost a server does.
      expect(await until('the outside connection to end', () => Promise.resolve(client.ended()))).toBe('ECONNRESET');
      // The port is published on the sandbox's new node (once that node reported where).
      const newHome = stack.nodes.find((n) => n.name === [n2, n3].find((node) => node.id === moved[0].nodeId)?.name);
      await until('a connection to its new node to echo', async () => {
        const again = echoClient(newHome?.address, (await getSandbox(tenant, server.id)).ports?.[0]?.hostPort);
        try {
          await new Promise((resolve) => setTimeout(resolve, 2_000));
          return again.lines() > 0 ? true : undefined;
        } finally {
          again.close();
        }
      });
    } finally {
      outside?.close();
      for (const node of [n1, n2, n3]) await setCordoned(node, false);
      await deleteSandboxes(tenant, created);
    }
  }, STEP_TIMEOUT_MS);

  it('keeps a sandbox running on its node when the migration target dies midway; the target drops its half when it returns', async () => {
    const tenant = await newTenant('fleet-target-dies');
    const sandbox = await createSandbox(tenant, { rootfs: 'block', memoryMiB: 256, command: COUNTER });
    // 64 MB of noise on its disk and in its page cache: a migration long enough to be cut.
    await shIn(tenant, sandbox, 'head -c 64000000 /dev/urandom > /tmp/noise');
    const target = (await nodes()).find((n) => n.id !== sandbox.nodeId && n.state === 'ready');
    const targetNode = stack.nodes.find((n) => n.name === target?.name);
    if (!target || !targetNode) throw new Error('no other ready node');
    // A VM that migrated in keeps `-incoming` in its command line: the new one on the target is this move's.
    const earlier = new Set(vmmProcesses());
    const incoming = () => vmmProcesses().filter((p) => !earlier.has(p) && p.includes('-incoming') && p.includes(`/${target.name}/`));
    try {
      expect((await call('POST', `/v1/sandboxes/${sandbox.id}/migrate`, { nodeId: target.id }, tenant.key)).status).toBe(202);
      try {
        // The target's VMM is taking the stream in: kill -9 of its node agent.
        await waitFor("the target's VMM to take the stream in", () => Promise.resolve(incoming().length > 0 ? true : undefined), 120_000);
        process.kill(stack.pid(target.name) ?? 0, 'SIGKILL');
        const after = await waitFor('the sandbox to run on its own node again', async () => {
          const current = await getSandbox(tenant, sandbox.id);
          if (current.state === 'failed') throw new Error(`the sandbox failed: ${JSON.stringify(current.events.slice(-3))}`);
          return current.state === 'running' ? current : undefined;
        });
        expect(after.nodeId).toBe(sandbox.nodeId);
        expect(after.events.at(-1)?.reason?.code).toBe('MIGRATION_FAILED');
        // Its processes never stopped: the counter goes on where it always ran.
        const count = Number(await shIn(tenant, after, 'cat /tmp/count'));
        await waitFor('the counter to go on', async () => (Number(await shIn(tenant, after, 'cat /tmp/count')) > count ? true : undefined));
      } finally {
        await stack.startNode(target.name);
      }
      // Back, the target releases what the cut migration left there: no VMM, no sandbox dir of it.
      const sandboxesDir = join(targetNode.dataDir, 'node', 'sandboxes');
      const copies = () =>
        (existsSync(sandboxesDir) ? readdirSync(sandboxesDir) : []).filter((dir) => {
          const state = join(sandboxesDir, dir, 'state.json');
          return existsSync(state) && readFileSync(state, 'utf8').includes(sandbox.id);
        });
      await waitFor('the target to be back with nothing of the sandbox', async () => {
        const back = (await nodeNamed(target.name)).state === 'ready';
        return back && incoming().length === 0 && copies().length === 0 ? true : undefined;
      });
    } finally {
      await deleteSandboxes(tenant, [sandbox]);
    }
  }, STEP_TIMEOUT_MS);

  it('speaks only TLS: a plain connection gets no answer, and a node agent refuses a certificate its CA did not sign', async () => {
    const plain = stack.apiUrl.replace('https:', 'http:');
    await expect(apiRequest(`${plain}/healthz`)).rejects.toThrow();

    // Another CA than the fleet's, and a data dir of the impostor's own.
    const dataDir = freshDataDir(stack.dataDir, 'wrong-ca-');
    const wrongCa = testCertificates(join(dataDir, 'tls')).caFile;
    const token = (await call<{ token: string }>('POST', '/v1/nodes/join-tokens', {})).body.token;
    const agent = spawn(process.execPath, ['apps/node-agent/dist/main.js'], {
      cwd: resolve(__dirname, '../..'),
      env: {
        PATH: process.env.PATH,
        MOAT_DATA_DIR: dataDir,
        MOAT_CONTROL_PLANE_URL: stack.apiUrl,
        MOAT_TLS_CA: wrongCa,
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

  /** A tenant with a template of two versions (1 and 2, told apart by GREETING). */
  async function tenantWithTemplate(name: string): Promise<{ key: string; templateId: string }> {
    const tenant = await call<{ apiKey: string }>('POST', '/v1/tenants', { name: `${name}-${Date.now()}` });
    const key = tenant.body.apiKey;
    const template = await call<{ id: string }>('POST', '/v1/templates', { name, vcpus: 1, memoryMiB: 128, env: { GREETING: 'v1' } }, key);
    expect(template).toMatchObject({ status: 201 });
    expect(await call('POST', `/v1/templates/${template.body.id}/versions`, { vcpus: 1, memoryMiB: 128, env: { GREETING: 'v2' } }, key)).toMatchObject({ status: 201 });
    return { key, templateId: template.body.id };
  }

  /** Creates a deployment; `replicas` of them, or one per node. */
  async function deploy(key: string, templateId: string, size: { replicas: number } | { perNode: true }) {
    const strategy = { type: 'rolling', maxUnavailable: 1, maxSurge: 0, progressDeadlineSeconds: 600, autoRollback: false };
    const res = await call<{ id: string }>('POST', '/v1/deployments', { templateId, templateVersion: 1, ...size, strategy }, key);
    expect(res).toMatchObject({ status: 201 });
    const id = res.body.id;
    const replicas = async () => (await call<Sandbox[]>('GET', `/v1/sandboxes?deploymentId=${id}`, undefined, key)).body.filter((s) => s.state !== 'stopping');
    /** Waits for `count` running replicas that `accept` (as a list, with their node names) approves. */
    const settled = (what: string, count: number, accept: (list: Sandbox[], names: (string | undefined)[]) => boolean) =>
      until(what, async () => {
        const current = await replicas();
        const names = await Promise.all(current.map((s) => nodeName(s.nodeId)));
        return current.length === count && current.every((s) => s.state === 'running') && accept(current, names) ? current : undefined;
      });
    const remove = async () => {
      expect((await call('DELETE', `/v1/deployments/${id}`, undefined, key)).status).toBe(202);
      await until('the deployment to be gone', async () => ((await call('GET', `/v1/deployments/${id}`, undefined, key)).status === 404 ? true : undefined));
    };
    return { id, replicas, settled, remove };
  }

  it('runs a perNode deployment once on every node, and rolls it to a new version across all three', async () => {
    const { key, templateId } = await tenantWithTemplate('fleet-per-node');
    const deployment = await deploy(key, templateId, { perNode: true });
    const first = await deployment.settled('one replica on each node', NODES, (_, names) => new Set(names).size === NODES);
    created.push(...first.map((s) => s.id));
    const started = await call<{ id: string }>('POST', `/v1/deployments/${deployment.id}/rollouts`, { templateVersion: 2 }, key);
    expect(started).toMatchObject({ status: 201 });
    const rollout = await until('the rollout to finish', async () => {
      const res = await call<{ state: string }>('GET', `/v1/rollouts/${started.body.id}`, undefined, key);
      return res.body.state === 'progressing' ? undefined : res.body;
    });
    expect(rollout.state).toBe('completed');
    const rolled = await deployment.settled('version 2 on each node', NODES, (list, names) => new Set(names).size === NODES && list.every((s) => s.templateVersion === 2));
    created.push(...rolled.map((s) => s.id));
    for (const sandbox of rolled) {
      const exec = await call<{ stdout: string }>('POST', `/v1/sandboxes/${sandbox.id}/exec`, { command: ['sh', '-c', 'echo $GREETING'] }, key);
      expect(exec.body.stdout.trim()).toBe('v2');
    }
    await deployment.remove();
  }, STEP_TIMEOUT_MS);

  it('moves replicas off a drained node; replaces a killed node\'s, and stops the old ones when it returns: nothing runs twice', async () => {
    const { key, templateId } = await tenantWithTemplate('fleet-loss');
    const deployment = await deploy(key, templateId, { replicas: NODES });
    const spread = await deployment.settled('one running replica per node', NODES, (_, names) => new Set(names).size === NODES);
    created.push(...spread.map((s) => s.id));
    const byName = async (name: string) => (await nodes()).find((n) => n.name === name);

    // Cordon and drain node-1: its replica moves to the other two.
    const drained = await byName('node-1');
    expect((await call('POST', `/v1/nodes/${drained?.id}/cordon`)).status).toBe(200);
    expect((await call('POST', `/v1/nodes/${drained?.id}/drain`)).status).toBe(200);
    const moved = await deployment.settled('every replica off node-1', NODES, (list) => list.every((s) => s.nodeId !== drained?.id));
    created.push(...moved.map((s) => s.id));
    expect((await call('POST', `/v1/nodes/${drained?.id}/uncordon`)).status).toBe(200);

    // kill -9 of node-3's agent: a node lost with its VMs still running.
    const lostNode = await byName('node-3');
    const lost = moved.filter((s) => s.nodeId === lostNode?.id).map((s) => s.id);
    expect(lost.length).toBeGreaterThan(0);
    process.kill(stack.pid('node-3') ?? 0, 'SIGKILL');
    const killedAt = Date.now();
    let replaced: Sandbox[];
    try {
      // Its VMs outlive its agent.
      expect(runningVms(lost)).toHaveLength(lost.length);
      replaced = await deployment.settled('three running replicas without node-3', NODES, (list) => list.every((s) => s.nodeId !== lostNode?.id));
      created.push(...replaced.map((s) => s.id));
      console.log(`[fleet] replicas replaced ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill (TTL ${TTL_MS} ms + grace ${GRACE_MS} ms)`);
      expect((await byName('node-3'))?.state).toBe('down');
    } finally {
      // Also when the test fails: only its agent can stop node-3's VMs.
      await stack.startNode('node-3');
    }
    await until('node-3 back and its replaced VMs stopped', async () => ((await byName('node-3'))?.state === 'ready' && runningVms(lost).length === 0 ? true : undefined));
    const final = (await deployment.replicas()).map((s) => s.id).sort();
    expect(final).toEqual(replaced.map((s) => s.id).sort());
    // Each replica in one VM, the fenced ones in none (a VM left over is shown with what the API says of its sandbox).
    const leftOver = runningVms([...new Set(created)]).filter((id) => !final.includes(id));
    const described = await Promise.all(
      leftOver.map(async (id) => {
        const { status, body } = await call<Sandbox>('GET', `/v1/sandboxes/${id}`);
        return { id, status, state: body.state, node: await nodeName(body.nodeId), events: body.events?.slice(-4) };
      }),
    );
    expect(described).toEqual([]);
    expect(runningVms(final).sort()).toEqual(final);
    await deployment.remove();
  }, STEP_TIMEOUT_MS);
});
