import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startContainerd, writeCniNetwork, type CniNetwork, type OwnContainerd } from '../support/containerd.mjs';
import { criClient, pullIntoCri, pushCriImages, waitForCri, type CriClient, type ContainerConfig, type PodSandboxConfig } from '../support/cri.mjs';
import { DATA_DIR } from '../support/api';
import { NODE_RUN_DIR, shimProcesses, vmsOfNamespace } from '../support/containerd-vms';
import { findLeaks, vmmProcesses } from '../support/leaks.mjs';
import { startRegistry, type TestRegistry } from '../support/registry';

/** Not the stack's tenant bridges' prefix (mte2e) nor its subnet pool (10.250.0.0/16). */
const BRIDGE = `mcri${randomBytes(3).toString('hex')}`;
const SUBNET = `10.252.${randomBytes(1)[0]}.0/24`;
/** What the pod's containers may use together: its VM's memory. */
const POD_MEMORY_MIB = 320;


let registry: TestRegistry;
let network: CniNetwork;
let containerd: OwnContainerd;
let cri: CriClient;
let busybox: string;
/** A hostPath volume for the pod's server container, with a file the host wrote. */
let volume: string | undefined;
/** Every VM a pod of this test ran in, seen while it ran (the leak check looks for each). */
const seen = new Set<string>();
let watcher: NodeJS.Timeout;

beforeAll(async () => {
  registry = await startRegistry();
  const images = await pushCriImages(registry);
  busybox = images.busybox;
  // Short: containerd's sockets live under it.
  const dir = mkdtempSync('/tmp/ctrd-');
  network = writeCniNetwork({ dir: join(dir, 'cni'), bridge: BRIDGE, subnet: SUBNET });
  containerd = await startContainerd({
    dir,
    env: { MOAT_RUN_DIR: NODE_RUN_DIR },
    cri: { cniBinDir: '/usr/lib/cni', cniConfDir: network.confDir, sandboxImage: images.pause },
  });
  await pullIntoCri(containerd, [images.pause, images.busybox]);
  cri = criClient(containerd.address);
  await waitForCri(cri);
  watcher = setInterval(() => vmsOfNamespace('k8s.io').forEach((id) => seen.add(id)), 100);
}, 120_000);

afterAll(async () => {
  clearInterval(watcher);
  if (volume) rmSync(volume, { recursive: true, force: true });
  cri?.close();
  // With the stack's logs, for a failure's post-mortem (run.mjs names the dir).
  if (containerd) writeFileSync(join(DATA_DIR, 'containerd-cri.log'), containerd.logs());
  await containerd?.stop();
  network?.remove();
  await registry?.stop();
});

describe('CRI runs a pod in one Moat VM (runtime handler moat)', () => {
  const podConfig: PodSandboxConfig = {
    metadata: { name: 'web', uid: `cri-e2e-${BRIDGE}`, namespace: 'moat-e2e', attempt: 0 },
    hostname: 'web',
    // A cluster's DNS, as the kubelet gives it: CRI writes the pod's resolv.conf from it.
    dns_config: { servers: ['10.96.0.10'], searches: ['moat-e2e.svc.cluster.local'], options: ['ndots:5'] },
    // The sum of its containers' limits, as the kubelet gives it: the pod's VM is sized for it.
    linux: { resources: { memory_limit_in_bytes: POD_MEMORY_MIB * 1024 * 1024, cpu_quota: 100_000, cpu_period: 100_000 } },
  };
  let podId: string;
  let server: string;
  let client: string;
  const exec = async (id: string, cmd: string[]) => {
    const result = await cri.runtime.ExecSync({ container_id: id, cmd, timeout: 60 });
    return { exitCode: result.exit_code, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
  };
  const start = async (name: string, command: string[], mounts: ContainerConfig['mounts'] = []) => {
    const config = { metadata: { name }, image: { image: busybox }, command, mounts };
    const { container_id } = await cri.runtime.CreateContainer({ pod_sandbox_id: podId, config, sandbox_config: podConfig });
    await cri.runtime.StartContainer({ container_id });
    return container_id;
  };

  it('runs the pod and two containers in it, all in one VM', async () => {
    ({ pod_sandbox_id: podId } = await cri.runtime.RunPodSandbox({ config: podConfig, runtime_handler: 'moat' }));
    volume = mkdtempSync(join(tmpdir(), 'moat-cri-volume-'));
    writeFileSync(join(volume, 'hello'), 'from the host\n');
    server = await start('server', ['sh', '-c', 'mkdir -p /www && echo hi from server > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www'], [
      { container_path: '/data', host_path: volume },
    ]);
    client = await start('client', ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'], [
      { container_path: '/ro', host_path: volume, readonly: true },
    ]);

    const { status } = await cri.runtime.PodSandboxStatus({ pod_sandbox_id: podId });
    expect({ state: status.state, handler: status.runtime_handler }).toEqual({ state: 'SANDBOX_READY', handler: 'moat' });
    const { containers } = await cri.runtime.ListContainers({ filter: { pod_sandbox_id: podId } });
    expect(containers.map((c) => c.state)).toEqual(['CONTAINER_RUNNING', 'CONTAINER_RUNNING']);
    const vms = vmsOfNamespace('k8s.io');
    expect(vms).toHaveLength(1);
    const state = JSON.parse(readFileSync(join(DATA_DIR, 'node', 'sandboxes', vms[0], 'state.json'), 'utf8')) as { spec: { memoryMiB: number; vcpus: number } };
    expect(state.spec).toMatchObject({ memoryMiB: POD_MEMORY_MIB, vcpus: 1 });
    expect(vmmProcesses().filter((p) => /^\d+: \S*qemu-system/.test(p) && p.includes(`-name moat-${vms[0]}`))).toHaveLength(1);
  });

  it("both containers run on the guest's kernel, not the host's", async () => {
    const [inServer, inClient] = [await exec(server, ['uname', '-r']), await exec(client, ['uname', '-r'])];
    expect(inServer).toEqual(inClient);
    expect(inClient.exitCode).toBe(0);
    expect(inClient.stdout.trim()).not.toBe(release());
  });

  it("the client reaches the server on the pod's 127.0.0.1", async () => {
    let fetched = await exec(client, ['wget', '-qO-', 'http://127.0.0.1:8080/']);
    for (let i = 0; i < 50 && fetched.exitCode !== 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      fetched = await exec(client, ['wget', '-qO-', 'http://127.0.0.1:8080/']);
    }
    expect(fetched).toEqual({ exitCode: 0, stdout: 'hi from server\n', stderr: '' });
  });

  it("the containers have the pod's hostname and the resolv.conf CRI wrote for it", async () => {
    expect((await exec(client, ['hostname'])).stdout).toBe('web\n');
    const resolvConf = (await exec(server, ['cat', '/etc/resolv.conf'])).stdout;
    expect(resolvConf).toContain('nameserver 10.96.0.10');
    expect(resolvConf).toContain('search moat-e2e.svc.cluster.local');
    expect(resolvConf).toContain('options ndots:5');
    // CRI's hosts file for the pod is a copy of the node's; the guest's own would name the guest.
    expect((await exec(client, ['cat', '/etc/hosts'])).stdout).toBe(readFileSync('/etc/hosts', 'utf8'));
  });

  it('reaches a hostPath volume both ways, and a read-only one only one way', async () => {
    expect(await exec(server, ['cat', '/data/hello'])).toEqual({ exitCode: 0, stdout: 'from the host\n', stderr: '' });
    expect((await exec(server, ['sh', '-c', 'echo from the guest > /data/written'])).exitCode).toBe(0);
    expect(readFileSync(join(volume ?? '', 'written'), 'utf8')).toBe('from the guest\n');
    // Read-only where the pod says so.
    expect((await exec(client, ['cat', '/ro/hello'])).stdout).toBe('from the host\n');
    expect((await exec(client, ['sh', '-c', 'echo no > /ro/refused'])).exitCode).not.toBe(0);
    expect(existsSync(join(volume ?? '', 'refused'))).toBe(false);
  });

  it("the guest has the pod's IP from CNI", async () => {
    const { status } = await cri.runtime.PodSandboxStatus({ pod_sandbox_id: podId });
    expect(status.network?.ip).toMatch(new RegExp(`^${SUBNET.replace(/0\/24$/, '').replaceAll('.', '\\.')}\\d+$`));
    expect((await exec(client, ['ip', '-o', '-4', 'addr'])).stdout).toContain(`inet ${status.network?.ip}/24`);
  });

  it('ExecSync passes exit codes and both output streams through', async () => {
    expect(await exec(client, ['sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    expect((await exec(server, ['sh', '-c', 'exit 1'])).exitCode).toBe(1);
  });

  it("changes a container's limits within the pod VM's size (UpdateContainerResources), and refuses more", async () => {
    const limit = 128 * 1024 * 1024;
    await cri.runtime.UpdateContainerResources({ container_id: client, linux: { memory_limit_in_bytes: limit } });
    // The guest's own cgroup says so, as the shim's Stats reads it.
    const metrics = await containerd.ctr(['--namespace', 'k8s.io', 'task', 'metrics', client]);
    expect(metrics.stdout).toMatch(new RegExp(`memory\\.limit_in_bytes\\s+${limit}\\b`));
    await expect(cri.runtime.UpdateContainerResources({ container_id: client, linux: { memory_limit_in_bytes: 8 * 1024 * limit } })).rejects.toThrow(
      new RegExp(`INVALID_SPEC: memory limit \\d+ is more than the VM's ${POD_MEMORY_MIB} MiB`),
    );
  });

  it('stops and removes the pod', async () => {
    await cri.runtime.StopPodSandbox({ pod_sandbox_id: podId });
    expect((await cri.runtime.PodSandboxStatus({ pod_sandbox_id: podId })).status.state).toBe('SANDBOX_NOTREADY');
    expect((await cri.runtime.ContainerStatus({ container_id: client })).status.state).toBe('CONTAINER_EXITED');
    await cri.runtime.RemovePodSandbox({ pod_sandbox_id: podId });
    expect((await cri.runtime.ListPodSandbox({})).items).toEqual([]);
    expect((await cri.runtime.ListContainers({})).containers).toEqual([]);
  });

  it('leaves nothing behind: no VM, virtiofsd, shim, socket, mount, netns or cgroup of the pod', async () => {
    expect(seen.size).toBe(1);
    for (let i = 0; i < 50 && vmsOfNamespace('k8s.io').length > 0; i++) await new Promise((r) => setTimeout(r, 200));
    expect(vmsOfNamespace('k8s.io')).toEqual([]);
    expect(findLeaks(DATA_DIR, [...seen])).toEqual([]);
    expect(shimProcesses()).toEqual([]);
    expect(existsSync(join(NODE_RUN_DIR, 's')) ? readdirSync(join(NODE_RUN_DIR, 's')) : []).toEqual([]);
    // The pod's netns is a mount under containerd's state dir, like its rootfs snapshots and /dev/shm.
    const ownDir = containerd.address.replace(/\/containerd.sock$/, '');
    expect(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes(ownDir))).toEqual([]);
    // CNI DEL took the pod's veth off the bridge.
    expect(readdirSync(`/sys/class/net/${BRIDGE}/brif`)).toEqual([]);
  });
});
