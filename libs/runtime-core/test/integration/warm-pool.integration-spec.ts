import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { describeIf } from '@moat/test-support';
import { SandboxRuntime, type SandboxInfo, type SandboxSpec } from '../../src';
import { accel, dataDirOfImages, findGuestImage, processesMentioning } from './support/guest-image';
import { makeVmDirs, removeLeftovers, removeVmDirs } from './support/vm-dirs';

const image = findGuestImage();
if (!image) console.warn(`warm pool integration tests skipped: no guest image under ${dataDirOfImages}/guest-images`);

// A bridge prefix and pool of its own keep this test's networks off the host's and other tests'.
const PREFIX = `mtw${process.pid % 10000}`;
const SUBNETS = '10.251.0.0/16';
const SHAPE = { vcpus: 1, memoryMiB: 128 };

/** The id a sandbox's VM is named by: its cgroup's last part (its own id, or its pool VM's). */
const vmIdOf = (info: SandboxInfo) => info.isolation?.cgroup?.split('/').at(-1) ?? '';

/**
 * The warm pool on real QEMU with jails and a network: VMs restored ahead of time, each handed
 * to one sandbox (its share and NIC plugged into the running VM), replaced by a new one, and
 * drained on close with nothing left behind.
 */
describeIf(image !== undefined)('the warm pool on real QEMU', () => {
  const guestImage = image!;
  let work: string;
  let runDir: string;
  let memoryDir: string;
  let runtime: SandboxRuntime;
  const ids: string[] = [];
  const vmIds = new Set<string>();
  const poolVmIds = () => readdirSync(join(work, 'data', 'sandboxes'));

  const create = async (overrides: Partial<SandboxSpec> = {}): Promise<SandboxInfo> => {
    const id = randomUUID();
    ids.push(id);
    const info = await runtime.create({ id, env: {}, tenantId: 'pool-test', network: { model: 'tcfilter', ports: [] }, ...SHAPE, ...overrides });
    expect(info.error).toBeUndefined();
    expect(info.state).toBe('running');
    return info;
  };
  const sh = async (id: string, script: string): Promise<string> => {
    const out = await runtime.exec(id, { command: ['sh', '-c', script] });
    expect({ exitCode: out.exitCode, stderr: out.stderr.toString() }).toEqual({ exitCode: 0, stderr: '' });
    return out.stdout.toString().trim();
  };

  beforeAll(async () => {
    ({ work, runDir, memoryDir } = makeVmDirs('pool'));
    runtime = await SandboxRuntime.open({
      dataDir: join(work, 'data'),
      runDir,
      memoryDir,
      guestImage,
      accel,
      warmPool: [{ ...SHAPE, count: 1 }],
      network: { stateDir: join(work, 'network'), bridgePrefix: PREFIX, subnetPool: SUBNETS },
    });
    // The shape's snapshot is saved first (a cold boot), then the pool's VM is restored from it.
    await runtime.warmPoolFull();
  }, 300_000);

  afterAll(async () => {
    for (const id of ids) await runtime?.delete(id).catch(() => undefined);
    await runtime?.close();
    removeLeftovers([...ids, ...vmIds, join(runDir, 'snapshot-')], PREFIX);
    removeVmDirs({ work, runDir, memoryDir });
  }, 180_000);

  it('hands each sandbox a VM of its own that waited, with its share and NIC plugged in, and refills', async () => {
    const [waiting] = poolVmIds();
    expect(processesMentioning(`moat-${waiting}`).filter((line) => line.includes('qemu-system'))).toHaveLength(1);
    expect(runtime.list()).toEqual([]);

    const a = await create();
    expect(a.timings.map((t) => t.phase)).toEqual(['rootfs', 'sharefs', 'network', 'plug', 'sandbox', 'container']);
    expect(vmIdOf(a)).toBe(waiting);
    expect(a.isolation).toMatchObject({ jailed: true, seccomp: true });
    vmIds.add(vmIdOf(a));

    await runtime.warmPoolFull();
    const b = await create();
    expect(b.timings.map((t) => t.phase)).toContain('plug');
    // Never a VM that is in use: the refill is a new VM.
    expect(vmIdOf(b)).not.toBe(vmIdOf(a));
    vmIds.add(vmIdOf(b));

    // The hot-plugged share is the container's writable rootfs, and the hot-plugged NIC works:
    // each reaches its gateway and the other sandbox of its tenant.
    expect(await sh(a.id, 'echo written > /tmp/f && cat /tmp/f')).toBe('written');
    await sh(a.id, 'ping -c 1 -W 5 "$(ip route | awk "/default/ {print \\$3}")" >/dev/null');
    await sh(b.id, `ping -c 1 -W 5 ${a.network?.ip} >/dev/null`);

    // A create of another shape boots (or restores) as before and leaves the pool alone.
    const other = await create({ memoryMiB: 192 });
    expect(other.timings.map((t) => t.phase)).not.toContain('plug');
    vmIds.add(vmIdOf(other));
  }, 600_000);

  it('releases a handed-out VM with its sandbox, and drains the pool on close, leaving nothing behind', async () => {
    await runtime.warmPoolFull();
    const waiting = poolVmIds().filter((vmId) => !vmIds.has(vmId));
    expect(waiting).toHaveLength(1);
    vmIds.add(waiting[0]);
    for (const id of ids.splice(0)) await runtime.delete(id);
    await runtime.close();
    for (const vmId of vmIds) {
      expect(processesMentioning(vmId)).toEqual([]);
      expect(existsSync(join(runDir, vmId))).toBe(false);
      expect(existsSync(`/sys/fs/cgroup/memory/moat/${vmId}`) || existsSync(`/sys/fs/cgroup/moat/${vmId}`)).toBe(false);
      expect(existsSync(join(memoryDir, `${vmId}.mem`))).toBe(false);
    }
    expect(poolVmIds()).toEqual([]);
    const leases = existsSync('/run/moat/jail-ids') ? readdirSync('/run/moat/jail-ids').map((uid) => readFileSync(`/run/moat/jail-ids/${uid}`, 'utf8')) : [];
    expect(leases.filter((owner) => [...vmIds].some((vmId) => owner.includes(vmId)))).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(runDir);
    expect(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })).not.toContain(PREFIX);
  }, 300_000);
});
