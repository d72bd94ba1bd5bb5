// Starts and stops a whole local Moat: control plane, node agent(s) and web UI, as child
// processes. Used by `npm start` and by the e2e tests, so both run the same thing.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import { createFleetLan, inNodeNetns } from './fleet-lan.mjs';
import { ensureCertificates } from './tls-certs.mjs';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * `tls: true` serves the API over HTTPS/WSS only, with a CA and a certificate made (or reused)
 * in `$dataDir/tls/` for loopback and `tlsHosts`; the node agent trusts that CA alone. Without
 * it, MOAT_TLS_CERT and MOAT_TLS_KEY in the environment (with MOAT_TLS_CA when a private CA
 * signed them) do the same with the operator's files; neither: plain HTTP on loopback.
 *
 * `nodes` above 1 runs a fleet on this machine: that many node agents, each in a network
 * namespace of its own on a virtual LAN (fleet-lan.mjs), each with its own data and run dirs
 * and its own slice of the subnet pool, joined with a join token of its own over TLS (implied).
 * A node agent that dies is a node lost: the rest runs on, and it is started again after
 * `nodeRestartDelayMs` (as systemd would) or when `startNode` says; `stop` stops its VMs too.
 * @typedef {{ dataDir: string, apiPort: number, webPort: number, adminToken?: string,
 *   web?: boolean, env?: Record<string,string>, output?: 'inherit' | 'prefix' | 'file',
 *   tls?: boolean, tlsHosts?: string[], nodes?: number, nodeRestartDelayMs?: number, log?: (msg: string) => void }} StackOptions
 * @typedef {{ name: string, address: string | undefined, netns: string | undefined, dataDir: string }} StackNode
 * @typedef {{ apiUrl: string, webUrl: string | undefined, adminToken: string, dataDir: string,
 *   caFile: string | undefined, nodes: StackNode[],
 *   pid: (name: string) => number | undefined,
 *   stop: () => Promise<void>, exited: Promise<string> }} Stack
 */

/** @param {StackOptions} opts @returns {Promise<Stack>} */
export async function startStack(opts) {
  const log = opts.log ?? ((m) => console.log(m));
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  const env = {
    ...process.env,
    NEXT_TELEMETRY_DISABLED: '1',
    ...opts.env,
    MOAT_DATA_DIR: dataDir,
    MOAT_API_PORT: String(opts.apiPort),
    MOAT_WEB_PORT: String(opts.webPort),
    ...(opts.adminToken ? { MOAT_ADMIN_TOKEN: opts.adminToken } : {}),
  };
  const subnetPool = env.MOAT_NET_SUBNET_POOL ?? DEFAULT_SUBNET_POOL;
  const lan = (opts.nodes ?? 1) > 1 ? createFleetLan({ tag: opts.apiPort, nodes: opts.nodes, private: [subnetPool], log }) : undefined;
  let tls;
  try {
    tls = opts.tls || lan
      ? ensureCertificates({ dir: join(dataDir, 'tls'), hosts: [...(opts.tlsHosts ?? []), ...(lan ? [lan.hostAddress] : [])], log })
      : env.MOAT_TLS_CERT
        ? { certFile: env.MOAT_TLS_CERT, keyFile: env.MOAT_TLS_KEY, caFile: env.MOAT_TLS_CA }
        : undefined;
  } catch (err) {
    lan?.remove();
    throw err;
  }
  // The control plane serves with the certificate, the web UI sends browsers to https, the
  // node agent and this script's own probes trust the CA (else the system store).
  if (tls) Object.assign(env, { MOAT_TLS_CERT: tls.certFile, MOAT_TLS_KEY: tls.keyFile }, tls.caFile && { MOAT_TLS_CA: tls.caFile });
  const apiUrl = `${tls ? 'https' : 'http'}://127.0.0.1:${opts.apiPort}`;
  const ca = tls?.caFile ? readFileSync(tls.caFile, 'utf8') : undefined;
  /** @type {Map<string, import('node:child_process').ChildProcess>} */
  const children = new Map();
  let stopping = false;
  let onExit;
  const exited = new Promise((r) => (onExit = r));

  const fleetRunDir = `/run/moat/fleet-${opts.apiPort}`;
  /** @type {StackNode[]} */
  const nodes = lan
    ? lan.nodes.map((node) => ({ name: node.name, address: node.address, netns: node.netns, dataDir: join(dataDir, 'nodes', node.name) }))
    : [{ name: 'node-agent', address: undefined, netns: undefined, dataDir }];
  let adminToken = opts.adminToken;

  const run = (name, args, extraEnv = {}, command = [process.execPath]) => {
    const child = spawn(command[0], [...command.slice(1), ...args], {
      cwd: ROOT,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.set(name, child);
    pipeOutput(name, child, opts.output ?? 'prefix', dataDir);
    child.on('exit', (code, signal) => {
      children.delete(name);
      if (stopping) return;
      // A fleet node's agent dying is a node lost, not the end of the fleet: its VMs keep running.
      if (lan?.nodes.some((node) => node.name === name)) nodeLost(name, signal ?? code);
      else onExit(`${name} exited (${signal ?? code})`);
    });
    return child;
  };

  const nodeLost = (name, how) => {
    const delayMs = opts.nodeRestartDelayMs;
    log(`${name}'s agent exited (${how}); its VMs keep running${delayMs === undefined ? '' : `; starting it again in ${delayMs / 1000} s`}`);
    if (delayMs !== undefined) setTimeout(() => void (stopping || children.has(name) ? undefined : startNode(name).catch((err) => log(`${name}: ${err.message}`))), delayMs);
  };

  /** Starts (or, after it died, restarts) the node agent of a fleet node. */
  const startNode = async (name) => {
    const i = lan?.nodes.findIndex((node) => node.name === name) ?? -1;
    if (!lan || i < 0) throw new Error(`startNode: ${name} is not a node of this fleet`);
    const previous = children.get(name);
    // Killed from outside, it may not have been reaped yet.
    if (previous && !(await exitWithin(previous, 10_000))) throw new Error(`startNode: ${name}'s agent is running`);
    const nodeDataDir = nodes[i].dataDir;
    await mkdir(nodeDataDir, { recursive: true });
    // Every node would build the same guest image: they share this machine's.
    await symlink(join(dataDir, 'guest-images'), join(nodeDataDir, 'guest-images')).catch((err) => {
      if (err.code !== 'EEXIST') throw err;
    });
    // A node that joined before (a restart) comes back with its credential; a new one gets a join token.
    const joined = existsSync(join(nodeDataDir, 'node', 'credential'));
    const nodeEnv = {
      MOAT_DATA_DIR: nodeDataDir,
      MOAT_RUN_DIR: join(fleetRunDir, name),
      MOAT_NODE_NAME: name,
      MOAT_CONTROL_PLANE_URL: `https://${lan.hostAddress}:${opts.apiPort}`,
      MOAT_JOIN_TOKEN: joined ? undefined : await joinToken(),
      // The control plane plans every tenant's subnet and addresses in this pool, for all nodes.
      MOAT_NET_SUBNET_POOL: subnetPool,
      MOAT_NODE_ADDRESS: lan.nodes[i].address,
      MOAT_STOP_SANDBOXES_ON_EXIT: 'true',
      // A node of a fleet holds its own credential, never the operator's token (spawn leaves undefined out).
      MOAT_ADMIN_TOKEN: undefined,
    };
    run(name, ['apps/node-agent/dist/main.js'], nodeEnv, inNodeNetns(lan.nodes[i], [process.execPath]));
  };

  const joinToken = async () => {
    const res = await apiRequest(`${apiUrl}/v1/nodes/join-tokens`, { method: 'POST', token: adminToken, body: {}, ca });
    if (res.status !== 201) throw new Error(`POST /v1/nodes/join-tokens: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.token;
  };

  /** Only a node's agent can stop its VMs: a dead one is started again, until it is back, to be stopped. */
  const reviveForStop = async (name) => {
    if (children.has(name) || !adminToken || !children.has('control-plane')) return;
    await startNode(name);
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && children.has(name)) {
      const res = await apiRequest(`${apiUrl}/v1/nodes`, { token: adminToken, ca }).catch(() => undefined);
      if (res?.body?.some?.((node) => node.name === name && node.state === 'ready')) return;
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  const stop = async () => {
    stopping = true;
    if (lan) await Promise.all(nodes.map((node) => reviveForStop(node.name)));
    // The node agents first, with a long grace period: they stop their VMs
    // (MOAT_STOP_SANDBOXES_ON_EXIT) before exiting. The control plane keeps the sandboxes
    // desired, so the next start recreates them (level-triggered).
    await Promise.all(nodes.map((node) => terminate(node.name, 120_000)));
    for (const name of ['web', 'control-plane']) await terminate(name, 15_000);
    if (lan) {
      lan.remove();
      await rm(fleetRunDir, { recursive: true, force: true });
    }
  };
  const terminate = async (name, graceMs) => {
    const child = children.get(name);
    if (!child) return;
    child.kill('SIGTERM');
    if (!(await exitWithin(child, graceMs))) {
      child.kill('SIGKILL');
      await exitWithin(child, graceMs);
    }
  };

  try {
    run('control-plane', ['apps/control-plane/dist/main.js']);
    await waitForHttp(`${apiUrl}/healthz`, 60_000, exited, ca);
    adminToken ??= readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    if (lan) {
      for (const node of lan.nodes) await startNode(node.name);
    } else {
      run('node-agent', ['apps/node-agent/dist/main.js'], {
        MOAT_ADMIN_TOKEN: adminToken,
        MOAT_STOP_SANDBOXES_ON_EXIT: 'true',
        ...(tls && { MOAT_CONTROL_PLANE_URL: apiUrl }),
      });
    }
    let webUrl;
    if (opts.web !== false) {
      run('web', [join(ROOT, 'node_modules/next/dist/bin/next'), 'start', '-p', String(opts.webPort), 'apps/web']);
      webUrl = `http://127.0.0.1:${opts.webPort}`;
      await waitForHttp(webUrl, 60_000, exited);
    }
    log(`stack up: API ${apiUrl}${webUrl ? `, web ${webUrl}` : ''}`);
    const pid = (name) => children.get(name)?.pid;
    return { apiUrl, webUrl, adminToken, dataDir, caFile: tls?.caFile, nodes, pid, startNode, stop, exited };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Resolves true once the child has exited (at once if it already has), false after `ms`. */
function exitWithin(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** The node agent's default MOAT_NET_SUBNET_POOL. */
const DEFAULT_SUBNET_POOL = '10.88.0.0/16';

function pipeOutput(name, child, mode, dataDir) {
  if (mode === 'inherit') {
    child.stdout.pipe(process.stdout);
    child.stderr.pipe(process.stderr);
    return;
  }
  if (mode === 'file') {
    const out = createWriteStream(join(dataDir, `${name}.log`), { flags: 'a' });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    return;
  }
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const line of lines) process.stdout.write(`[${name}] ${line}\n`);
    });
  }
}

/** `ca` (PEM): the authority an https URL is checked against; absent, the system store. */
async function waitForHttp(url, timeoutMs, exited, ca) {
  const deadline = Date.now() + timeoutMs;
  let died;
  exited.then((why) => (died = why));
  let lastError;
  while (Date.now() < deadline) {
    if (died) throw new Error(`while waiting for ${url}: ${died}`);
    try {
      if ((await statusOf(url, ca)) < 500) return;
    } catch (err) {
      // not listening yet, or (kept for the message) a certificate the CA does not vouch for
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms${lastError ? ` (${lastError.code ?? lastError.message})` : ''}`);
}

/**
 * One JSON request to the API, trusting `ca` (PEM) for https, else the system store. Resolves
 * with the status and the parsed body (if any).
 * @param {string} url
 * @param {{ method?: string, token?: string, body?: unknown, ca?: string }} [opts]
 * @returns {Promise<{ status: number, body: any }>}
 */
export async function apiRequest(url, { method = 'GET', token, body, ca } = {}) {
  const headers = { ...(token && { authorization: `Bearer ${token}` }), ...(body !== undefined && { 'content-type': 'application/json' }) };
  const res = await request(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), ca, timeoutMs: 30_000 });
  return { status: res.status, body: res.text ? JSON.parse(res.text) : undefined };
}

/** The status of a GET. */
async function statusOf(url, ca) {
  return (await request(url, { ca, timeoutMs: 5_000 })).status;
}

/** One HTTP(S) request, with node:http(s) rather than fetch, which takes no CA of its own. */
function request(url, { method = 'GET', headers = {}, body, ca, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method, headers, timeout: timeoutMs, ...(ca && { ca }) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
