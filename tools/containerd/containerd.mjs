// Debian's containerd 1.6 with Moat's runtime: the config a node needs (runtime type
// io.containerd.moat.v2, CRI runtime handler `moat`), and a containerd of its own for tests and
// benchmarks (own root, state and sockets, stopped and removed after), with its CRI plugin and a
// CNI bridge network of the test's own when a test drives pods.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = resolve(import.meta.dirname, '../..');
/** Where `containerd-shim-moat-v2` lives in the repo; containerd finds it on its PATH. */
export const SHIM_BIN_DIR = join(ROOT, 'apps/containerd-shim/bin');
/** containerd's runtime type for Moat: containerd runs `containerd-shim-moat-v2`. */
export const MOAT_RUNTIME = 'io.containerd.moat.v2';

/** containerd 1.6's CRI plugin (RunPodSandbox & co. on containerd's own socket). */
const CRI_PLUGIN = 'io.containerd.grpc.v1.cri';

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
 * CRI's runtimes: `runc` stays the default handler (a config that names runtimes replaces 1.6's
 * default table, which would lose it, and CRI refuses a default it cannot find) and `moat` runs
 * pods in Moat VMs (a Kubernetes RuntimeClass with `handler: moat`).
 * @param {{ runcRoot?: string }} [opts] runc's state dir, when not /run/containerd/runc
 */
function criRuntimes({ runcRoot } = {}) {
  const runtimes = `[plugins."${CRI_PLUGIN}".containerd.runtimes`;
  return [
    `[plugins."${CRI_PLUGIN}".containerd]`,
    '  default_runtime_name = "runc"',
    `${runtimes}.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    ...(runcRoot ? [`${runtimes}.runc.options]`, `  Root = "${runcRoot}"`] : []),
    `${runtimes}.moat]`,
    `  runtime_type = "${MOAT_RUNTIME}"`,
  ];
}

/**
 * What a node's containerd needs to run tasks and pods in Moat VMs, as a file it imports
 * (`ctr run --runtime io.containerd.moat.v2` needs nothing: containerd finds the shim on its
 * PATH): CRI's runtimes (`criRuntimes`), and the CNI dirs of Debian's plugins (/usr/lib/cni;
 * containerd's own default is /opt/cni/bin), which Debian's config.toml names too but a node's
 * own config may not. TOML for containerd 1.6's config version 2.
 */
export function moatRuntimeConfig() {
  return [
    `[plugins."${CRI_PLUGIN}".cni]`,
    '  bin_dir = "/usr/lib/cni"',
    '  conf_dir = "/etc/cni/net.d"',
    ...criRuntimes(),
    '',
  ].join('\n');
}

/**
 * A whole config for a containerd of its own under `dir`. Without `cri` its CRI plugin is off:
 * `ctr` needs none. (It did not load before either: a config that names only the `moat` runtime
 * loses 1.6's default `runc` one, and CRI refuses a default_runtime_name it cannot find.)
 * With `cri`, see `criConfig`.
 */
function ownConfig(dir, cri) {
  return [
    'version = 2',
    `root = "${join(dir, 'root')}"`,
    `state = "${join(dir, 'state')}"`,
    ...(cri ? [] : [`disabled_plugins = ["${CRI_PLUGIN}"]`]),
    '[grpc]',
    `  address = "${join(dir, 'containerd.sock')}"`,
    '[ttrpc]',
    `  address = "${join(dir, 'containerd.sock.ttrpc')}"`,
    '[debug]',
    '  level = "info"',
    ...(cri ? [criConfig(dir, cri)] : []),
  ].join('\n');
}

/**
 * containerd 1.6's CRI plugin for a containerd of a test's own. Its root and state are already
 * under containerd's (`<root>/io.containerd.grpc.v1.cri`, `<state>/…`); its runtimes are a
 * node's (`criRuntimes`).
 * - `netns_mounts_under_state_dir`: a pod's netns is a mount under its state dir, not under
 *   /run/netns, so it goes with the containerd that made it;
 * - `stream_server_port = "0"` on 127.0.0.1: two containerds never ask for the same port (the
 *   stream server serves Exec/Attach/PortForward, which ExecSync does not use);
 * - `disable_apparmor`: the same spec on every host (the Moat handler's containers are in a VM;
 *   runc's would get cri-containerd's profile only where the host has AppArmor);
 * - `restrict_oom_score_adj`: CRI gives a pod's sandbox process oom_score_adj -998, which
 *   needs CAP_SYS_RESOURCE, which root lacks on some hosts (a microVM sandbox, a container):
 *   runc then fails with "can't get final child's PID from pipe: EOF". Restricted, no process
 *   gets a lower score than containerd's own;
 * - `enable_selinux` stays off: tests run without SELinux;
 * - runc's state (its `--root`) under `dir` too, not /run/containerd/runc.
 * @param {string} dir
 * @param {{ cniBinDir: string; cniConfDir: string; sandboxImage: string }} cri
 */
function criConfig(dir, { cniBinDir, cniConfDir, sandboxImage }) {
  const plugin = `[plugins."${CRI_PLUGIN}"]`;
  return [
    plugin,
    `  sandbox_image = "${sandboxImage}"`,
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  netns_mounts_under_state_dir = true',
    '  disable_apparmor = true',
    '  enable_selinux = false',
    '  restrict_oom_score_adj = true',
    `[plugins."${CRI_PLUGIN}".cni]`,
    `  bin_dir = "${cniBinDir}"`,
    `  conf_dir = "${cniConfDir}"`,
    '  max_conf_num = 1',
    ...criRuntimes({ runcRoot: join(dir, 'runc') }),
    '',
  ].join('\n');
}

/**
 * Starts Debian's containerd with its root, state and sockets under `dir` (short: its sockets
 * live there), Moat's shim on its PATH and `env` in its environment (the shim reads
 * MOAT_RUN_DIR to find its node agent). `ctr(args)` runs ctr against it (its stdin `input`, or
 * empty); `stop()` stops it and removes `dir`.
 *
 * With `cri` its CRI plugin serves runtime.v1 on `address` too (handlers "" for runc and `moat`;
 * images in the namespace `k8s.io`), pods on the CNI network in `cri.cniConfDir` (see
 * `writeCniNetwork`). The plugin answers only once it has initialized: wait for its Version.
 */
export async function startContainerd({ dir, env = {}, log = () => undefined, cri }) {
  if (!existsSync('/usr/bin/containerd')) throw new Error("containerd is not installed (apt-get install containerd; `npm test` installs it)");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = join(dir, 'config.toml');
  writeFileSync(config, ownConfig(dir, cri));
  const address = join(dir, 'containerd.sock');
  const child = spawn('/usr/bin/containerd', ['--config', config], {
    env: { ...process.env, ...env, PATH: `${SHIM_BIN_DIR}:${process.env.PATH}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk) => {
    output = (output + chunk.toString()).slice(-64 * 1024);
  });
  const stopChild = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
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
  if (cri) {
    // A config CRI refuses does not stop containerd: the plugin is just listed with "error".
    const plugin = (await ctr(['plugins', 'ls'])).stdout.split('\n').find((line) => line.includes(' cri '));
    if (!plugin?.trim().endsWith(' ok')) {
      await stopChild();
      throw new Error(`containerd's CRI plugin did not load (${plugin?.trim()}):\n${output}`);
    }
  }
  log(`containerd serving on ${address}`);
  return {
    address,
    ctr,
    logs: () => output,
    async stop() {
      // Tasks a failed test left, in every namespace (CRI's too; runc's outlive their shim):
      // killed and deleted, so their VMs go with them.
      if (child.exitCode === null) {
        const namespaces = (await ctr(['namespaces', 'ls', '--quiet'], { timeoutMs: 30_000 })).stdout.split('\n').filter(Boolean);
        for (const namespace of namespaces) {
          const tasks = (await ctr(['--namespace', namespace, 'tasks', 'ls', '--quiet'], { timeoutMs: 30_000 })).stdout.split('\n').filter(Boolean);
          if (tasks.length > 0) await ctr(['--namespace', namespace, 'tasks', 'delete', '--force', ...tasks], { timeoutMs: 60_000 });
        }
      }
      await stopChild();
      // Shims it started (a test that failed before deleting its tasks) go with it.
      spawnSync('pkill', ['-KILL', '-f', '--', `-address ${address}`]);
      // Its snapshots are overlay mounts under root: none may outlive it.
      spawnSync('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Where libcni (inside containerd's CRI) caches each attachment's result; 1.6 cannot move it. */
const CNI_RESULTS_DIR = '/var/lib/cni/results';

/**
 * Writes a CNI network for test pods under `dir`, for `startContainerd`'s `cri.cniConfDir`:
 * the reference `bridge` plugin on the Linux bridge `bridge` (also the network's name; unique
 * per test, at most 15 characters), with host-local addresses from `subnet` (a /24), its
 * leases under `dir`. The bridge gets no address, no route and no masquerading (isGateway,
 * ipMasq and hairpinMode off): pods reach each other inside the subnet and nothing else, and
 * nothing is added to the host's routes or firewall. CRI adds the loopback network itself.
 *
 * The bridge plugin creates the bridge at the first pod and never removes it: `remove()` does,
 * with the results libcni cached for the network's pods that were never torn down (their
 * eth0's and their loopback's), and `dir`.
 * Call it after containerd has stopped, also when the test failed.
 * @param {{ dir: string; bridge: string; subnet: string }} opts
 */
export function writeCniNetwork({ dir, bridge, subnet }) {
  if (!/^[A-Za-z0-9_-]{1,15}$/.test(bridge)) throw new Error(`bridge name ${bridge}: 1 to 15 letters, digits, - or _`);
  if (!/^(\d{1,3}\.){3}0\/24$/.test(subnet)) throw new Error(`subnet ${subnet}: a /24, e.g. 10.88.7.0/24`);
  const confDir = join(dir, 'net.d');
  mkdirSync(confDir, { recursive: true, mode: 0o700 });
  const conflist = {
    cniVersion: '1.0.0',
    name: bridge,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: false,
        ipMasq: false,
        hairpinMode: false,
        ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: join(dir, 'ipam') },
      },
    ],
  };
  writeFileSync(join(confDir, `10-${bridge}.conflist`), `${JSON.stringify(conflist, null, 2)}\n`);
  return {
    confDir,
    bridge,
    remove() {
      if (existsSync(join('/sys/class/net', bridge))) {
        const del = spawnSync('ip', ['link', 'del', bridge], { encoding: 'utf8' });
        if (del.status !== 0) throw new Error(`ip link del ${bridge}: ${del.stderr}`);
      }
      // `<network>-<pod id>-<ifname>`; the pod's loopback is CRI's network `cni-loopback`.
      for (const file of existsSync(CNI_RESULTS_DIR) ? readdirSync(CNI_RESULTS_DIR) : []) {
        const pod = file.match(new RegExp(`^${bridge}-(\\w+)-eth0$`))?.[1];
        if (!pod) continue;
        rmSync(join(CNI_RESULTS_DIR, file), { force: true });
        rmSync(join(CNI_RESULTS_DIR, `cni-loopback-${pod}-lo`), { force: true });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
