#!/usr/bin/env node
// A manual check of the CRI test support (cri.mjs, cri/api.proto, and tools/containerd's CRI
// config and CNI network) with runc instead of Moat's VMs: not part of any test target. As root:
//
//   npx nx build test-registry && node e2e/support/cri-smoke.mjs
//
// It starts a registry and a containerd of its own under a temp dir, runs a pod with the default
// handler (runc) in a CNI netns on a bridge of its own, two busybox containers in it (httpd on
// 127.0.0.1:8080, and a client), ExecSyncs between them over the pod's loopback, stops and
// removes everything, and then checks that nothing is left: no netns, bridge, mount, process,
// cgroup, shim socket or CNI result. All traffic stays in the pod's netns. Outside its temp dir
// it creates only the bridge, the pod's cgroups (under a parent of its own), runc's shim
// sockets (/run/containerd/s) and libcni's cached results (/var/lib/cni/results), and removes
// them, and those dirs if it made them, also when a step fails.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry } from '@moat/test-registry';
import { startContainerd, writeCniNetwork } from './containerd.mjs';
import { CRI_NAMESPACE, criClient, pullIntoCri, pushCriImages, waitForCri } from './cri.mjs';

const CNI_BIN_DIR = '/usr/lib/cni';
const SHIM_SOCKETS = '/run/containerd/s';
const CNI_RESULTS = '/var/lib/cni/results';
const CGROUP_ROOT = '/sys/fs/cgroup';

const log = (message) => console.log(`cri-smoke: ${message}`);
function check(ok, what, detail = '') {
  if (!ok) throw new Error(`FAILED: ${what}${detail ? `\n${detail}` : ''}`);
  log(`ok   ${what}`);
}
const list = (dir) => (existsSync(dir) ? readdirSync(dir) : []);
function pgrep(pattern) {
  try {
    return execFileSync('pgrep', ['-af', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
/** The cgroup dirs named `name` under the root of each v1 hierarchy and the v2 one. */
const cgroupDirs = (name) => list(CGROUP_ROOT).map((hierarchy) => join(CGROUP_ROOT, hierarchy, name)).concat(join(CGROUP_ROOT, name)).filter((dir) => existsSync(dir));

if (process.getuid?.() !== 0) throw new Error('run as root: containerd, runc and CNI need it');
for (const binary of ['/usr/bin/containerd', '/usr/sbin/runc', join(CNI_BIN_DIR, 'bridge'), '/usr/bin/docker-registry']) {
  if (!existsSync(binary)) throw new Error(`${binary} is missing (apt-get install containerd runc containernetworking-plugins docker-registry)`);
}

const tmp = mkdtempSync('/tmp/cri-smoke-');
const suffix = randomBytes(3).toString('hex');
/** Unique per run: the bridge and the network's name (libcni's results are named after it). */
const bridge = `mcri${suffix}`;
/** The pods' cgroups go under it, in every hierarchy; removed after. */
const cgroupParent = `/moat-cri-smoke-${suffix}`;
const subnet = `10.251.${randomBytes(1)[0]}.0/24`;
const shimSocketsBefore = new Set(list(SHIM_SOCKETS));
/** Dirs runc's shim and libcni make outside it when missing (1.6 has no setting for either). */
const sharedDirs = ['/run/containerd/s', '/run/containerd', CNI_RESULTS, '/var/lib/cni'].filter((dir) => !existsSync(dir));
const netnsBefore = new Set(list('/run/netns'));

let registry;
let containerd;
let cri;
let podId;
let failed;
const network = writeCniNetwork({ dir: join(tmp, 'cni'), bridge, subnet });
try {
  registry = await startRegistry();
  const images = await pushCriImages(registry);
  containerd = await startContainerd({ dir: join(tmp, 'ctrd'), cri: { cniBinDir: CNI_BIN_DIR, cniConfDir: network.confDir, sandboxImage: images.pause } });
  log(`containerd on ${containerd.address}, bridge ${bridge}, subnet ${subnet}`);
  await pullIntoCri(containerd, [images.pause]);
  cri = criClient(containerd.address);
  const version = await waitForCri(cri);
  log(`Version: ${version.runtime_name} ${version.runtime_version}, CRI ${version.runtime_api_version}`);
  // CRI pulls from a registry on loopback over plain HTTP by itself.
  const pulled = await cri.image.PullImage({ image: { image: images.busybox } });
  check(pulled.image_ref.startsWith('sha256:'), `PullImage ${images.busybox}: ${pulled.image_ref.slice(0, 19)}…`);

  for (const ref of [images.pause, images.busybox]) {
    const status = await cri.image.ImageStatus({ image: { image: ref } });
    check(status.image?.repo_tags.includes(ref), `ImageStatus finds ${ref} in ${CRI_NAMESPACE}`);
  }
  const listed = await cri.image.ListImages({});
  check(listed.images.length >= 2, `ListImages lists ${listed.images.length} images`);

  const podConfig = {
    metadata: { name: 'smoke', uid: `smoke-${suffix}`, namespace: 'moat-cri-smoke', attempt: 0 },
    hostname: 'smoke-pod',
    log_directory: join(tmp, 'logs'),
    linux: { cgroup_parent: cgroupParent },
  };
  ({ pod_sandbox_id: podId } = await cri.runtime.RunPodSandbox({ config: podConfig, runtime_handler: '' }));
  const pod = await cri.runtime.PodSandboxStatus({ pod_sandbox_id: podId, verbose: true });
  const podIp = pod.status.network?.ip ?? '';
  check(pod.status.state === 'SANDBOX_READY' && podIp.startsWith(subnet.replace(/0\/24$/, '')), `RunPodSandbox ${podId.slice(0, 12)}: ready, IP ${podIp} in ${subnet}`);
  const netnsPath = JSON.parse(pod.info.info ?? '{}').runtimeSpec?.linux?.namespaces?.find((ns) => ns.type === 'network')?.path ?? '';
  check(netnsPath.startsWith(tmp), `its netns is under containerd's state dir: ${netnsPath}`);

  const container = async (name, command) => {
    const config = { metadata: { name, attempt: 0 }, image: { image: images.busybox }, command, log_path: `${name}.log` };
    const { container_id: id } = await cri.runtime.CreateContainer({ pod_sandbox_id: podId, config, sandbox_config: podConfig });
    await cri.runtime.StartContainer({ container_id: id });
    return id;
  };
  const server = await container('server', ['sh', '-c', 'mkdir -p /www && echo hi from server > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www']);
  const client = await container('client', ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done']);
  const { containers } = await cri.runtime.ListContainers({ filter: { pod_sandbox_id: podId } });
  check(containers.length === 2 && containers.every((c) => c.state === 'CONTAINER_RUNNING'), 'CreateContainer + StartContainer: server and client running');

  const exec = async (id, cmd) => {
    const result = await cri.runtime.ExecSync({ container_id: id, cmd, timeout: 30 });
    return { exitCode: result.exit_code, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
  };
  const addrs = await exec(client, ['ip', '-o', '-4', 'addr']);
  check(addrs.exitCode === 0 && addrs.stdout.includes(`eth0    inet ${podIp}/24`) && addrs.stdout.includes('lo    inet 127.0.0.1/8'), 'ExecSync ip addr: lo and eth0 with the pod IP', addrs.stdout);
  const serverAddrs = await exec(server, ['ip', '-o', '-4', 'addr']);
  check(serverAddrs.stdout === addrs.stdout, 'both containers are in the same netns');
  const hostname = await exec(client, ['hostname']);
  check(hostname.stdout === 'smoke-pod\n', `ExecSync hostname: ${hostname.stdout.trim()}`);
  let fetched;
  for (let i = 0; i < 50; i++) {
    fetched = await exec(client, ['wget', '-qO-', 'http://127.0.0.1:8080/']);
    if (fetched.exitCode === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  check(fetched.stdout === 'hi from server\n', `ExecSync wget in client reaches server's httpd on 127.0.0.1: ${fetched.stdout.trim()}`, fetched.stderr);
  const failing = await exec(client, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
  check(failing.exitCode === 3 && failing.stdout === 'out\n' && failing.stderr === 'err\n', 'ExecSync passes exit code 3, stdout and stderr');

  await cri.runtime.StopContainer({ container_id: client, timeout: 10 });
  const stopped = await cri.runtime.ContainerStatus({ container_id: client });
  check(stopped.status.state === 'CONTAINER_EXITED' && stopped.status.exit_code === 0, 'StopContainer: client exited 0 on SIGTERM');
  await cri.runtime.RemoveContainer({ container_id: client });
  await cri.runtime.StopPodSandbox({ pod_sandbox_id: podId });
  const afterStop = await cri.runtime.PodSandboxStatus({ pod_sandbox_id: podId });
  const serverAfterStop = await cri.runtime.ContainerStatus({ container_id: server });
  check(afterStop.status.state === 'SANDBOX_NOTREADY' && serverAfterStop.status.state === 'CONTAINER_EXITED', 'StopPodSandbox: pod not ready, server exited');
  await cri.runtime.RemovePodSandbox({ pod_sandbox_id: podId });
  podId = undefined;
  const pods = await cri.runtime.ListPodSandbox({});
  const left = await cri.runtime.ListContainers({});
  check(pods.items.length === 0 && left.containers.length === 0, 'RemovePodSandbox: no pod, no container left');
} catch (err) {
  failed = err;
  console.error(`cri-smoke: containerd's log, its end:\n${containerd?.logs().split('\n').slice(-40).join('\n') ?? '(not started)'}`);
} finally {
  if (podId) {
    await cri.runtime.StopPodSandbox({ pod_sandbox_id: podId }).catch((err) => log(`cleanup: ${err.message}`));
    await cri.runtime.RemovePodSandbox({ pod_sandbox_id: podId }).catch((err) => log(`cleanup: ${err.message}`));
  }
  cri?.close();
  await containerd?.stop();
  network.remove();
  await registry?.stop();
  // rmdir fails on a cgroup that still has one of the pod's: the check below reports it.
  for (const dir of cgroupDirs(cgroupParent)) {
    try {
      rmdirSync(dir);
    } catch {
      // still holds a pod's cgroup
    }
  }
  rmSync(tmp, { recursive: true, force: true });
  for (const dir of sharedDirs) {
    try {
      rmdirSync(dir);
    } catch {
      // not empty: the checks below say what is in it
    }
  }
}
if (failed) throw failed;

// Nothing left of it.
check(!existsSync(tmp), `${tmp} removed`);
check(!existsSync(join('/sys/class/net', bridge)), `no bridge ${bridge}`);
const netnsAfter = list('/run/netns').filter((ns) => !netnsBefore.has(ns));
check(netnsAfter.length === 0, 'no new netns under /run/netns', netnsAfter.join('\n'));
const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes(tmp));
check(mounts.length === 0, `no mount under ${tmp}`, mounts.join('\n'));
const processes = [...pgrep('containerd-shim-runc-v2'), ...pgrep(tmp)].filter((line) => line.includes(tmp));
check(processes.length === 0, 'no containerd, shim or container process of its own', processes.join('\n'));
const sockets = list(SHIM_SOCKETS).filter((socket) => !shimSocketsBefore.has(socket));
check(sockets.length === 0, `no new shim socket in ${SHIM_SOCKETS}`, sockets.join('\n'));
check(cgroupDirs(cgroupParent).length === 0, `no cgroup ${cgroupParent}`);
const results = list(CNI_RESULTS).filter((file) => file.startsWith(`${bridge}-`));
check(results.length === 0, `no CNI result of ${bridge} in ${CNI_RESULTS}`, results.join('\n'));
const madeDirs = sharedDirs.filter((dir) => existsSync(dir));
check(madeDirs.length === 0, 'no dir it made outside its own', madeDirs.join('\n'));
log('passed');
