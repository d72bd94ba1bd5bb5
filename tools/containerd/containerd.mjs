// Debian's containerd 1.6 with Moat's runtime: the config a node needs (runtime type
// io.containerd.moat.v2, CRI runtime handler `moat`), and a containerd of its own for tests and
// benchmarks (own root, state and sockets, stopped and removed after).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = resolve(import.meta.dirname, '../..');
/** Where `containerd-shim-moat-v2` lives in the repo; containerd finds it on its PATH. */
export const SHIM_BIN_DIR = join(ROOT, 'apps/containerd-shim/bin');
/** containerd's runtime type for Moat: containerd runs `containerd-shim-moat-v2`. */
export const MOAT_RUNTIME = 'io.containerd.moat.v2';

/** Where `npm start` links the shim, so a containerd started with the usual PATH finds it. */
export const SHIM_LINK = '/usr/local/bin/containerd-shim-moat-v2';

/**
 * Links the shim into /usr/local/bin (this checkout's; a link to another checkout is replaced).
 * Returns what it did, or why it left a file there alone.
 */
export function linkShim() {
  const target = join(SHIM_BIN_DIR, 'containerd-shim-moat-v2');
  let current;
  try {
    current = lstatSync(SHIM_LINK);
  } catch {
    current = undefined;
  }
  if (current && !current.isSymbolicLink()) return `left ${SHIM_LINK} alone: it is not a link`;
  if (current && readlinkSync(SHIM_LINK) === target) return `${SHIM_LINK} -> ${target}`;
  if (current) rmSync(SHIM_LINK);
  mkdirSync('/usr/local/bin', { recursive: true });
  symlinkSync(target, SHIM_LINK);
  return `${SHIM_LINK} -> ${target}`;
}

/**
 * What a node's containerd needs to run tasks and pods in Moat VMs: `ctr run --runtime
 * io.containerd.moat.v2`, and the CRI runtime handler `moat` (a Kubernetes RuntimeClass with
 * `handler: moat`). TOML for containerd 1.6's config version 2.
 */
export function moatRuntimeConfig() {
  return [
    `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.moat]`,
    `  runtime_type = "${MOAT_RUNTIME}"`,
    '',
  ].join('\n');
}

/** A whole config for a containerd of its own under `dir`. */
function ownConfig(dir) {
  return [
    'version = 2',
    `root = "${join(dir, 'root')}"`,
    `state = "${join(dir, 'state')}"`,
    '[grpc]',
    `  address = "${join(dir, 'containerd.sock')}"`,
    '[ttrpc]',
    `  address = "${join(dir, 'containerd.sock.ttrpc')}"`,
    '[debug]',
    '  level = "info"',
    moatRuntimeConfig(),
  ].join('\n');
}

/**
 * Starts Debian's containerd with its root, state and sockets under `dir` (short: its sockets
 * live there), Moat's shim on its PATH and `env` in its environment (the shim reads
 * MOAT_RUN_DIR to find its node agent). `ctr(args)` runs ctr against it (its stdin `input`, or
 * empty); `stop()` stops it and removes `dir`.
 */
export async function startContainerd({ dir, env = {}, log = () => undefined }) {
  if (!existsSync('/usr/bin/containerd')) throw new Error("containerd is not installed (apt-get install containerd; `npm test` installs it)");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = join(dir, 'config.toml');
  writeFileSync(config, ownConfig(dir));
  const address = join(dir, 'containerd.sock');
  const child = spawn('/usr/bin/containerd', ['--config', config], {
    env: { ...process.env, ...env, PATH: `${SHIM_BIN_DIR}:${process.env.PATH}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk) => {
    output = (output + chunk.toString()).slice(-64 * 1024);
  });
  const ctr = (args, opts = {}) =>
    new Promise((resolve) => {
      const run = spawn('/usr/bin/ctr', ['--address', address, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      run.stdout.on('data', (chunk) => (stdout += chunk));
      run.stderr.on('data', (chunk) => (stderr += chunk));
      const timer = setTimeout(() => run.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
      run.on('close', (status, signal) => {
        clearTimeout(timer);
        resolve({ status, signal, stdout, stderr });
      });
      run.stdin.end(opts.input ?? '');
    });
  const deadline = Date.now() + 30_000;
  while ((await ctr(['version'], { timeoutMs: 5_000 })).status !== 0) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`containerd did not start:\n${output}`);
    }
    await sleep(200);
  }
  log(`containerd serving on ${address}`);
  return {
    address,
    ctr,
    logs: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      // Shims it started (a test that failed before deleting its tasks) go with it.
      spawnSync('pkill', ['-KILL', '-f', `-address ${address}`]);
      // Its snapshots are overlay mounts under root: none may outlive it.
      spawnSync('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
