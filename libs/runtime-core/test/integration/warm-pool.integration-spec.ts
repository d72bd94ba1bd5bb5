import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { describeIf, eventually, processesMentioning } from '@moat/test-support';
import { dataDirOfImages, findGuestImage } from './support/guest-image';
import { SuiteRuntime } from './support/suite-runtime';
import { vmIdOf } from '../../src/testing/vm-id';

const image = findGuestImage();
if (!image) console.warn(`warm pool integration tests skipped: no guest image under ${dataDirOfImages}/guest-images`);

// A bridge prefix and pool of its own keep this test's networks off the host's and other tests'.
const PREFIX = `mtw${process.pid % 10000}`;
const SUBNETS = '10.251.0.0/16';
const SHAPE = { vcpus: 1, memoryMiB: 128 };


/**
 * The warm pool on real QEMU with jails and a network: VMs restored ahead of time, each handed
 * to one sandbox (its share and NIC plugged into the running VM), replaced by a new one, and
 * drained on close with nothing left behind.
 */
describeIf(image !== undefined)('the warm pool on real QEMU', () => {
  const vm = new SuiteRuntime('pool', image!, { env: {}, tenantId: 'pool-test', network: { model: 'tcfilter', ports: [] }, ...SHAPE }, ({ work }) => ({
    warmPool: [{ ...SHAPE, count: 1 }],
    network: { stateDir: join(work, 'network'), bridgePrefix: PREFIX, subnetPool: SUBNETS },
  }));
  const vmIds = new Set<string>();
  const poolVmIds = () => readdirSync(join(vm.dirs.work, 'data', 'sandboxes'));

  beforeAll(async () => {
    await vm.start();
    // The shape's snapshot is saved first (a cold boot), then the pool's VM is restored from it.
    await vm.runtime.warmPoolFull();
  }, 300_000);

  afterAll(() => vm.stop({ networkPrefix: PREFIX, processesOf: vmIds }), 180_000);

  it('hands each sandbox a VM of its own that waited, with its share and NIC plugged in, and refills', async () => {
    const [waiting] = poolVmIds();
    expect(processesMentioning(`moat-${waiting}`).filter((line) => line.includes('qemu-system'))).toHaveLength(1);
    expect(vm.runtime.list()).toEqual([]);

    const a = await vm.create();
    expect(a.timings.map((t) => t.phase)).toEqual(['rootfs', 'sharefs', 'network', 'plug', 'sandbox', 'container']);
    expect(vmIdOf(a)).toBe(waiting);
    expect(a.isolation).toMatchObject({ jailed: true, seccomp: true });
    vmIds.add(vmIdOf(a));

    await vm.runtime.warmPoolFull();
    const b = await vm.create();
    expect(b.timings.map((t) => t.phase)).toContain('plug');
    // Never a VM that is in use: the refill is a new VM.
    expect(vmIdOf(b)).not.toBe(vmIdOf(a));
    vmIds.add(vmIdOf(b));

    // The hot-plugged share is the container's writable rootfs, and the hot-plugged NIC works:
    // each reaches its gateway and the other sandbox of its tenant.
    expect(await vm.sh(a.id, 'echo written > /tmp/f && cat /tmp/f')).toBe('written');
    // Retried for a minute: under CI load a NIC just plugged into a TCG guest has lost three pings in a row.
    const reaches = (id: string, target: string) =>
      eventually(() => vm.sh(id, `ping -c 1 -W 5 ${target} >/dev/null`), { timeout: 60_000, interval: 1_000 });
    await reaches(a.id, '"$(ip route | awk "/default/ {print \\$3}")"');
    await reaches(b.id, `${a.network?.ip}`);

    // A create of another shape boots (or restores) as before and leaves the pool alone.
    const other = await vm.create({ memoryMiB: 192 });
    expect(other.timings.map((t) => t.phase)).not.toContain('plug');
    vmIds.add(vmIdOf(other));
  }, 600_000);

  it('releases a handed-out VM with its sandbox, and drains the pool on close, leaving nothing behind', async () => {
    await vm.runtime.warmPoolFull();
    const waiting = poolVmIds().filter((vmId) => !vmIds.has(vmId));
    expect(waiting).toHaveLength(1);
    vmIds.add(waiting[0]);
    for (const id of vm.ids.splice(0)) await vm.runtime.delete(id);
    await vm.runtime.close();
    for (const vmId of vmIds) {
      expect(processesMentioning(vmId)).toEqual([]);
      expect(existsSync(join(vm.dirs.runDir, vmId))).toBe(false);
      expect(existsSync(`/sys/fs/cgroup/memory/moat/${vmId}`) || existsSync(`/sys/fs/cgroup/moat/${vmId}`)).toBe(false);
      expect(existsSync(join(vm.dirs.memoryDir, `${vmId}.mem`))).toBe(false);
    }
    expect(poolVmIds()).toEqual([]);
    const leases = existsSync('/run/moat/jail-ids') ? readdirSync('/run/moat/jail-ids').map((uid) => readFileSync(`/run/moat/jail-ids/${uid}`, 'utf8')) : [];
    expect(leases.filter((owner) => [...vmIds].some((vmId) => owner.includes(vmId)))).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(vm.dirs.runDir);
    expect(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })).not.toContain(PREFIX);
  }, 300_000);
});
