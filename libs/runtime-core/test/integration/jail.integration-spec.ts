import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { describeIf, eventually, processesMentioning } from '@moat/test-support';
import { QmpClient } from '../../src/hypervisor/qemu/qmp.client';
import { NETWORK_MODELS, SandboxRuntime, type NetworkModelKind, type SandboxInfo, type SandboxSpec } from '../../src';
import { accel, dataDirOfImages, findGuestImage } from './support/guest-image';
import { makeVmDirs, removeLeftovers, removeVmDirs } from './support/vm-dirs';

const image = findGuestImage();
if (!image) console.warn(`jail integration tests skipped: no guest image under ${dataDirOfImages}/guest-images`);

// A bridge prefix and pool of its own keep this test's networks off the host's and other tests'.
const PREFIX = `mtj${process.pid % 10000}`;
const POOL = '10.252.0.0/16';
const MIB = 1024 * 1024;

/** `/proc/<pid>/status` fields as a map. */
function status(pid: number): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const [key, value] = line.split(':\t');
    if (value !== undefined) fields[key] = value.trim();
  }
  return fields;
}

/** The v1 or v2 directory of one controller for a cgroup path such as `/moat/<id>`. */
function controllerDir(controller: 'memory' | 'cpu' | 'pids', cgroup: string): string {
  const v1 = `/sys/fs/cgroup/${controller}${cgroup}`;
  if (existsSync(v1)) return v1;
  for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) if (existsSync(`${root}${cgroup}/cgroup.procs`)) return `${root}${cgroup}`;
  throw new Error(`no ${controller} cgroup ${cgroup}`);
}

function memoryLimit(cgroup: string): number {
  const dir = controllerDir('memory', cgroup);
  const file = existsSync(join(dir, 'memory.max')) ? 'memory.max' : 'memory.limit_in_bytes';
  return Number(readFileSync(join(dir, file), 'utf8'));
}

/**
 * The jail and the host cgroup on real QEMU: for a cold-booted and a restored sandbox of each
 * network model, the VMM runs as its own uid with no capabilities, no_new_privs and QEMU's
 * seccomp filter, in its own root and mount namespace, in its sandbox's cgroup with the limits
 * set; QMP commands that would reach host files fail; a VMM that outgrows its cgroup is killed
 * alone and its sandbox fails with VMM_OUT_OF_MEMORY; nothing is left behind.
 */
describeIf(image !== undefined)('jailed VMMs on real QEMU', () => {
  const guestImage = image!;
  let work: string;
  let runDir: string;
  let memoryDir: string;
  let cold: SandboxRuntime;
  let restoring: SandboxRuntime;
  const ids: string[] = [];
  const sandboxes = new Map<string, { runtime: SandboxRuntime; info: SandboxInfo }>();

  const open = (name: string, bootSnapshots: boolean) =>
    SandboxRuntime.open({
      dataDir: join(work, name),
      runDir,
      memoryDir,
      guestImage,
      accel,
      bootSnapshots,
      network: { stateDir: join(work, name, 'network'), bridgePrefix: PREFIX, subnetPool: POOL },
    });
  const create = async (runtime: SandboxRuntime, overrides: Partial<SandboxSpec> = {}): Promise<SandboxInfo> => {
    const id = randomUUID();
    ids.push(id);
    const info = await runtime.create({ id, vcpus: 1, memoryMiB: 128, env: {}, tenantId: 'jail-test', ...overrides });
    expect(info.error).toBeUndefined();
    expect(info.state).toBe('running');
    sandboxes.set(id, { runtime, info });
    return info;
  };
  const vmmPid = (id: string) => Number(readFileSync(join(runDir, id, 'vmm.pid'), 'utf8'));

  beforeAll(async () => {
    ({ work, runDir, memoryDir } = makeVmDirs('jail'));
    cold = await open('cold', false);
    restoring = await open('restoring', true);
    // The shape's first sandbox boots cold and gets its snapshot saved (by a jailed VM too).
    await create(restoring);
    await restoring.snapshotsIdle();
  });

  afterAll(async () => {
    for (const runtime of [cold, restoring]) {
      for (const id of ids) await runtime?.delete(id).catch(() => undefined);
      await runtime?.close();
    }
    removeLeftovers(ids, PREFIX);
    removeVmDirs({ work, runDir, memoryDir });
  }, 180_000);

  describe.each(NETWORK_MODELS)('%s', (model: NetworkModelKind) => {
    it.each(['cold', 'restored'] as const)('%s: runs the VMM jailed, fenced by its cgroup, and able to reach the network', async (kind) => {
      const runtime = kind === 'cold' ? cold : restoring;
      const info = await create(runtime, { network: { model, ports: [] } });
      expect(info.timings.map((t) => t.phase)).toContain(kind === 'cold' ? 'vmm' : 'restore');
      const pid = vmmPid(info.id);
      const proc = status(pid);
      expect(Number(proc.Uid.split('\t')[0])).toBe(info.isolation?.uid);
      expect(info.isolation?.uid).toBeGreaterThanOrEqual(200_000);
      expect(proc.Uid.split('\t').every((uid) => uid !== '0')).toBe(true);
      expect(proc.CapEff).toBe('0000000000000000');
      expect(proc.CapBnd).toBe('0000000000000000');
      expect(proc.NoNewPrivs).toBe('1');
      expect(proc.Seccomp).toBe('2');
      expect(readlinkSync(`/proc/${pid}/ns/mnt`)).not.toBe(readlinkSync('/proc/self/ns/mnt'));
      expect(readlinkSync(`/proc/${pid}/ns/pid`)).not.toBe(readlinkSync('/proc/self/ns/pid'));
      expect(readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
      // Its root is the jail's tmpfs, holding only what the VM needs: not the host's.
      expect(statSync(`/proc/${pid}/root/`).dev).not.toBe(statSync('/').dev);
      expect(readdirSync(`/proc/${pid}/root/`).sort()).toEqual(expect.arrayContaining(['dev', 'run', 'usr', 'vm']));
      expect(readdirSync(`/proc/${pid}/root/`)).not.toContain('etc');
      expect(readdirSync(`/proc/${pid}/root/dev`).sort()).toEqual(['null', 'urandom', 'zero']);
      // Its own cgroup, with the limits from its size.
      expect(info.isolation).toMatchObject({ jailed: true, seccomp: true, cgroup: `/moat/${info.id}` });
      expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`/moat/${info.id}`);
      const cgroup = info.isolation?.cgroup ?? '';
      expect(memoryLimit(cgroup)).toBeGreaterThan((128 + 160) * MIB);
      expect(readFileSync(join(controllerDir('pids', cgroup), 'pids.max'), 'utf8').trim()).toBe('512');
      const procs = readFileSync(join(controllerDir('memory', cgroup), 'cgroup.procs'), 'utf8');
      expect(procs.split('\n')).toContain(String(pid));
      // The NIC works although QEMU opened nothing: the guest pings its gateway.
      const out = await runtime.exec(info.id, { command: ['sh', '-c', 'ping -c 1 -W 5 "$(ip route | awk "/default/ {print \\$3}")"'] });
      expect({ exitCode: out.exitCode, output: out.stdout.toString() + out.stderr.toString() }).toMatchObject({ exitCode: 0 });
      // Gone before the next one starts: idle TCG guests would slow every later boot. The last
      // test checks that nothing of it is left.
      await runtime.delete(info.id);
      sandboxes.delete(info.id);
    });
  });

  it('refuses QMP commands that would reach host files, and dies rather than run a command', async () => {
    // A block rootfs: a virtio-fs device would block any migration before QEMU tried to spawn.
    const info = await create(cold, { rootfs: 'block' });
    const pid = vmmPid(info.id);
    const qmp = await QmpClient.connect(join(runDir, info.id, 'vm', 'qmp.sock'), 5_000);
    try {
      const hostFile = join(work, 'cold', 'sandboxes', info.id, 'state.json');
      await expect(qmp.execute('blockdev-add', { driver: 'file', 'node-name': 'stolen', filename: hostFile }, 5_000)).rejects.toThrow(/No such file|Could not open/);
      const planted = join(tmpdir(), `moat-jail-planted-${info.id}`);
      await expect(
        qmp.execute('chardev-add', { id: 'planted', backend: { type: 'file', data: { out: planted } } }, 5_000),
      ).rejects.toThrow(/No such file|Could not open/);
      expect(existsSync(planted)).toBe(false);
      // spawn=deny: the seccomp filter kills QEMU on the fork rather than let it run anything.
      const witness = join(tmpdir(), `moat-jail-exec-${info.id}`);
      await qmp.execute('migrate', { uri: `exec:touch ${witness}` }, 5_000).catch(() => undefined);
      await eventually(() => expect(existsSync(`/proc/${pid}`) && !status(pid).State?.startsWith('Z')).toBe(false), { timeout: 10_000 });
      expect(existsSync(witness)).toBe(false);
    } finally {
      qmp.close();
    }
    // The watchdog notices the dead VMM and releases the sandbox.
    await eventually(() => expect(cold.get(info.id)?.state).toBe('failed'), { timeout: 10_000 });
    expect(cold.get(info.id)?.error?.code).toBe('VMM_EXITED');
    expect(processesMentioning(info.id)).toEqual([]);
  });

  it('kills a VMM that outgrows its cgroup alone: its sandbox fails VMM_OUT_OF_MEMORY, the neighbour keeps answering', async () => {
    const victim = await create(cold);
    const neighbour = await create(cold);
    const cgroup = victim.isolation?.cgroup ?? '';
    const dir = controllerDir('memory', cgroup);
    const usage = Number(readFileSync(join(dir, existsSync(join(dir, 'memory.current')) ? 'memory.current' : 'memory.usage_in_bytes'), 'utf8'));
    // Lowered just above what the VMM uses now; the guest then touches 100 MiB more of its RAM.
    const v1 = existsSync(join(dir, 'memory.limit_in_bytes'));
    const lowered = String(usage + 32 * MIB);
    if (v1) {
      execFileSync('sh', ['-c', `echo ${lowered} > ${dir}/memory.limit_in_bytes`]);
      if (existsSync(join(dir, 'memory.memsw.limit_in_bytes'))) execFileSync('sh', ['-c', `echo ${lowered} > ${dir}/memory.memsw.limit_in_bytes`]);
    } else {
      execFileSync('sh', ['-c', `echo ${lowered} > ${dir}/memory.max`]);
    }
    await cold.exec(victim.id, { command: ['sh', '-c', 'dd if=/dev/zero of=/tmp/fill bs=1M count=100'], timeoutMs: 60_000 }).catch(() => undefined);
    await eventually(() => expect(cold.get(victim.id)?.state).toBe('failed'), { timeout: 30_000 });
    expect(cold.get(victim.id)?.error?.code).toBe('VMM_OUT_OF_MEMORY');
    const out = await cold.exec(neighbour.id, { command: ['echo', 'still here'] });
    expect(out.stdout.toString()).toBe('still here\n');
    // The sandbox reads failed as soon as the watchdog saw it; its release follows.
    await eventually(() => {
      expect(processesMentioning(victim.id)).toEqual([]);
      expect(existsSync(dir)).toBe(false);
    }, { timeout: 10_000 });
  });

  it('leaves no uid lease, cgroup, socket dir, mount, process or rule behind once every sandbox is deleted', async () => {
    for (const [id, { runtime }] of sandboxes) await runtime.delete(id);
    for (const id of ids) {
      expect(processesMentioning(id)).toEqual([]);
      expect(existsSync(join(runDir, id))).toBe(false);
      expect(existsSync(`/sys/fs/cgroup/memory/moat/${id}`) || existsSync(`/sys/fs/cgroup/moat/${id}`)).toBe(false);
    }
    const leases = existsSync('/run/moat/jail-ids') ? readdirSync('/run/moat/jail-ids').map((uid) => readFileSync(`/run/moat/jail-ids/${uid}`, 'utf8')) : [];
    expect(leases.filter((owner) => ids.some((id) => owner.includes(id)))).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(runDir);
    expect(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })).not.toContain(PREFIX);
  });
});
