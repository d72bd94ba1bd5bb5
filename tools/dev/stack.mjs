// Starts and stops a whole local Moat: control plane, node agent and web UI, as child
// processes. Used by `npm start` and by the e2e tests, so both run the same thing.
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import { ensureCertificates } from './tls-certs.mjs';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * `tls: true` serves the API over HTTPS/WSS only, with a CA and a certificate made (or reused)
 * in `$dataDir/tls/` for loopback and `tlsHosts`; the node agent trusts that CA alone. Without
 * it, MOAT_TLS_CERT and MOAT_TLS_KEY in the environment (with MOAT_TLS_CA when a private CA
 * signed them) do the same with the operator's files; neither: plain HTTP on loopback.
 * @typedef {{ dataDir: string, apiPort: number, webPort: number, adminToken?: string,
 *   web?: boolean, env?: Record<string,string>, output?: 'inherit' | 'prefix' | 'file',
 *   tls?: boolean, tlsHosts?: string[], log?: (msg: string) => void }} StackOptions
 * @typedef {{ apiUrl: string, webUrl: string | undefined, adminToken: string, dataDir: string,
 *   caFile: string | undefined,
 *   pid: (name: 'control-plane' | 'node-agent' | 'web') => number | undefined,
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
  const tls = opts.tls
    ? ensureCertificates({ dir: join(dataDir, 'tls'), hosts: opts.tlsHosts, log })
    : env.MOAT_TLS_CERT
      ? { certFile: env.MOAT_TLS_CERT, keyFile: env.MOAT_TLS_KEY, caFile: env.MOAT_TLS_CA }
      : undefined;
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

  const run = (name, args, extraEnv = {}) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.set(name, child);
    pipeOutput(name, child, opts.output ?? 'prefix', dataDir);
    child.on('exit', (code, signal) => {
      children.delete(name);
      if (!stopping) onExit(`${name} exited (${signal ?? code})`);
    });
    return child;
  };

  const stop = async () => {
    stopping = true;
    // The node agent first, with a long grace period: it stops its VMs
    // (MOAT_STOP_SANDBOXES_ON_EXIT) before exiting. The control plane keeps the sandboxes
    // desired, so the next start recreates them (level-triggered).
    for (const name of ['node-agent', 'web', 'control-plane']) {
      const child = children.get(name);
      if (!child) continue;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), name === 'node-agent' ? 120_000 : 15_000);
      await gone;
      clearTimeout(timer);
    }
  };

  try {
    run('control-plane', ['apps/control-plane/dist/main.js']);
    await waitForHttp(`${apiUrl}/healthz`, 60_000, exited, ca);
    const adminToken = opts.adminToken ?? readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    run('node-agent', ['apps/node-agent/dist/main.js'], {
      MOAT_ADMIN_TOKEN: adminToken,
      MOAT_STOP_SANDBOXES_ON_EXIT: 'true',
      ...(tls && { MOAT_CONTROL_PLANE_URL: apiUrl }),
    });
    let webUrl;
    if (opts.web !== false) {
      run('web', [join(ROOT, 'node_modules/next/dist/bin/next'), 'start', '-p', String(opts.webPort), 'apps/web']);
      webUrl = `http://127.0.0.1:${opts.webPort}`;
      await waitForHttp(webUrl, 60_000, exited);
    }
    log(`stack up: API ${apiUrl}${webUrl ? `, web ${webUrl}` : ''}`);
    const pid = (name) => children.get(name)?.pid;
    return { apiUrl, webUrl, adminToken, dataDir, caFile: tls?.caFile, pid, stop, exited };
  } catch (err) {
    await stop();
    throw err;
  }
}

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

/** The status of a GET; node:http(s) rather than fetch, which takes no CA of its own. */
function statusOf(url, ca) {
  return new Promise((resolve, reject) => {
    const options = { timeout: 5_000, ...(ca && { ca }) };
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, options, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}
