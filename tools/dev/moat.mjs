#!/usr/bin/env node
// `npm start` and `npm test` (through tools/dev/moat.sh, which puts Node 24 first): prepare a
// fresh Debian machine (host packages, npm dependencies, build, guest image), then run Moat or
// every test tier. Plain Node with no dependencies, because it runs before `npm ci`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureHostPackages, RUNTIME_PACKAGES, TEST_PACKAGES } from './host-packages.mjs';
import { leftSince, snapshotHostObjects } from './host-objects.mjs';
import { runsSupportedNode } from './node-runtime.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const log = (msg) => console.log(`[moat] ${msg}`);
const NX_ENV = { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };

function sh(cmd, args, extraEnv = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...NX_ENV, ...extraEnv } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.signal ?? r.status})`);
}

/**
 * `npm ci` when node_modules is missing or was installed from another package-lock.json or for
 * another Node ABI (native addons are built for one).
 */
function ensureNpmDependencies() {
  const lockHash = createHash('sha256')
    .update(readFileSync(join(ROOT, 'package-lock.json')))
    .update(`node-abi-${process.versions.modules}`)
    .digest('hex');
  const stamp = join(ROOT, 'node_modules', '.moat-lock-hash');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === lockHash) return;
  log('installing npm dependencies (npm ci)');
  sh('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(stamp, lockHash);
}

function dataDir() {
  return resolve(ROOT, process.env.MOAT_DATA_DIR ?? '.moat');
}

/** npx must run this same Node, or the builds, the tiers and the stack would mix Node versions. */
function ensureNpxRunsThisNode() {
  const version = spawnSync('npx', ['node', '--version'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim();
  if (version !== process.version) {
    throw new Error(`npx runs Node ${version || '(none)'}, not ${process.version}: run through npm start, npm test or sh tools/dev/moat.sh`);
  }
}

function prepare({ forTests }) {
  const t0 = Date.now();
  ensureNpxRunsThisNode();
  ensureHostPackages(forTests ? [...RUNTIME_PACKAGES, ...TEST_PACKAGES] : RUNTIME_PACKAGES, log);
  ensureNpmDependencies();
  log('building');
  sh('npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=stream']);
  log('building the guest image (reused when nothing changed)');
  sh(process.execPath, ['libs/guest-image/dist/cli.js', '--data-dir', dataDir()]);
  log(`prepared in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

/**
 * `npm start -- --tls`: the API over HTTPS/WSS with a CA and certificate made in $MOAT_DATA_DIR/tls.
 * `npm start -- --nodes N`: N node agents, each in a network namespace of its own (TLS implied).
 */
async function start({ tls, nodes }) {
  prepare({ forTests: false });
  const { startStack } = await import('./stack.mjs');
  const apiPort = Number(process.env.MOAT_API_PORT ?? 8080);
  const webPort = Number(process.env.MOAT_WEB_PORT ?? 3000);
  const host = process.env.MOAT_PUBLIC_HOST ?? 'localhost';
  const stack = await startStack({
    dataDir: dataDir(),
    apiPort,
    webPort,
    adminToken: process.env.MOAT_ADMIN_TOKEN,
    tls,
    tlsHosts: [host],
    nodes,
    // A node agent killed in a fleet comes back a minute later, as a host's systemd would start it again.
    nodeRestartDelayMs: NODE_RESTART_DELAY_MS,
    log,
  });
  const { linkShim } = await import('../containerd/containerd.mjs');
  const shim = linkShim();
  const api = `${new URL(stack.apiUrl).protocol}//${host}:${apiPort}`;
  // The node agent's own metrics endpoint (its MOAT_NODE_METRICS_ADDR default), unless turned off.
  const nodeMetrics = process.env.MOAT_NODE_METRICS_ADDR ?? '127.0.0.1:9464';
  console.log(
    [
      '',
      'Moat is running.',
      `  Web UI:      http://${host}:${webPort}`,
      `  API:         ${api}   (OpenAPI: ${api}/docs)`,
      `  Metrics:     ${api}/metrics${nodeMetrics === 'off' ? '' : `, node agent${nodes > 1 ? "s" : ''} http://${nodeMetrics}/metrics${nodes > 1 ? " inside each node's namespace" : ''}`}`,
      ...(nodes > 1
        ? [
            `  Nodes:       ${stack.nodes.map((node) => `${node.name} ${node.address}`).join(', ')}`,
            `               (network namespaces; e.g. ip netns exec ${stack.nodes[0].netns} ip addr)`,
          ]
        : []),
      ...(stack.caFile ? [`  TLS CA:      ${stack.caFile}   (curl --cacert it; trust it in the browser for the web UI)`] : []),
      `  Admin token: ${stack.adminToken}`,
      `  CLI:         node apps/cli/dist/moat.js login ${api} --token ${stack.adminToken}${stack.caFile ? ` --ca ${stack.caFile}` : ''}`,
      '               then node apps/cli/dist/moat.js --help',
      `  containerd:  runtime io.containerd.moat.v2, shim ${shim}`,
      '               (sh tools/containerd/setup-node.sh sets up Debian\'s containerd for it; see docs/containerd.md)',
      `  Data dir:    ${stack.dataDir}`,
      'Press Ctrl-C to stop everything (sandbox VMs included).',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async (why) => {
    if (stopping) return;
    stopping = true;
    log(`stopping (${why})`);
    await stack.stop();
    process.exit(why.startsWith('SIG') ? 0 : 1);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  stack.exited.then((why) => stop(why));
}

/** Caches tools keep in the temp dir by default and mean to keep: Jest's and Playwright's transforms, Node's compiled modules. */
const TOOL_CACHES = /^(jest_|playwright-transform-cache-|node-compile-cache$)/;

/** What tests left in a tier's temp dir, tools' own caches aside. */
function tempFilesLeft(dir) {
  return readdirSync(dir)
    .filter((name) => !TOOL_CACHES.test(name))
    .map((name) => `temp file ${join(dir, name)}`);
}

function test() {
  const t0 = Date.now();
  prepare({ forTests: true });
  const tiers = [
    // No new import loop between files or folders (dependency-cruiser; tools/dev/import-cycles.mjs).
    ['imports', ['node', 'tools/dev/import-cycles.mjs']],
    ['lint', ['nx', 'run-many', '-t', 'lint', '--outputStyle=stream']],
    ['unit', ['nx', 'run-many', '-t', 'test', '--outputStyle=stream']],
    // Two projects at a time: a VM project's tests mostly run one single-vCPU VM, which leaves the
    // other core to a project that needs none (the control plane's, the SDK's, the CLI's).
    ['integration', ['nx', 'run-many', '-t', 'integration', '--parallel=2', '--outputStyle=stream']],
    // The control plane's REST API under generated hostile requests (seeded; MOAT_FUZZ_SEED replays).
    ['fuzz', ['nx', 'run-many', '-t', 'fuzz', '--outputStyle=stream']],
    ['e2e', ['nx', 'run-many', '-t', 'e2e', '--parallel=1', '--outputStyle=stream']],
  ];
  for (const [name, args] of tiers) {
    log(`test tier: ${name}`);
    // Every tier must leave the host as it found it, also when its own checks missed something.
    const before = snapshotHostObjects();
    // And its temp dir (TMPDIR, which os.tmpdir() and mkdtemp follow) as empty as it was given.
    // Short (/tmp/mt-XXXXXX): unix sockets made under it must fit in 108 bytes.
    const tierTmp = mkdtempSync(join(tmpdir(), 'mt-'));
    const tierStart = Date.now();
    let failure;
    try {
      sh('npx', args, { MOAT_DATA_DIR: dataDir(), TMPDIR: tierTmp });
    } catch (error) {
      failure = error;
    }
    // Checked when the tier failed too: a failing test is the likeliest to leave something.
    const left = [...leftSince(before), ...tempFilesLeft(tierTmp)];
    rmSync(tierTmp, { recursive: true, force: true });
    const leak = left.length > 0 ? `test tier ${name} left host objects behind:\n  ${left.join('\n  ')}` : undefined;
    if (failure) throw leak ? new Error(`${failure.message}\n${leak}`) : failure;
    if (leak) throw new Error(leak);
    log(`test tier ${name} passed in ${((Date.now() - tierStart) / 1000).toFixed(0)} s`);
  }
  log(`all test tiers passed (${((Date.now() - t0) / 1000).toFixed(0)} s in all)`);
}

/** How long a fleet node stays lost after its agent dies under `npm start -- --nodes N`. */
const NODE_RESTART_DELAY_MS = 60_000;

const USAGE = 'usage: sh tools/dev/moat.sh start [--tls] [--nodes N] | test | prepare [--tests]';

/** `--tls`, `--nodes N` or `--nodes=N` (1 to 32; default 1). */
function startFlags(flags) {
  const options = { tls: false, nodes: 1 };
  for (let i = 0; i < flags.length; i++) {
    const [flag, inline] = flags[i].split('=', 2);
    if (flag === '--tls' && inline === undefined) options.tls = true;
    else if (flag === '--nodes') {
      const value = inline ?? flags[++i];
      options.nodes = Number(value);
      if (!/^\d+$/.test(value ?? '') || options.nodes < 1 || options.nodes > 32) throw new Error(`--nodes: a number from 1 to 32, not ${value ?? 'nothing'}`);
    } else throw new Error(`unknown option ${flags[i]}; ${USAGE}`);
  }
  return options;
}

const [command, ...flags] = process.argv.slice(2);
try {
  if (!runsSupportedNode()) throw new Error(`Node ${process.version} is too old for Moat: run \`sh tools/dev/moat.sh ${command ?? '<command>'}\` (as npm start and npm test do), which brings Node 24`);
  log(`running on Node ${process.version}`);
  if (command === 'start') await start(startFlags(flags));
  else if (command === 'test') test();
  else if (command === 'prepare') prepare({ forTests: process.argv.includes('--tests') });
  else throw new Error(USAGE);
} catch (err) {
  console.error(`[moat] ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}
