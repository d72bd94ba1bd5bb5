import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { describeIf, eventually, processesMentioning } from '@moat/test-support';
import type { SandboxInfo } from '../../src';
import { dataDirOfImages, findGuestImage } from './support/guest-image';
import { COUNTER_AND_LISTENER, SuiteRuntime } from './support/suite-runtime';

const image = findGuestImage();
if (!image) console.warn(`fork integration tests skipped: no guest image under ${dataDirOfImages}/guest-images`);

// A bridge prefix and pool of its own keep this test's networks off the host's and other tests'.
const PREFIX = `mtf${process.pid % 10000}`;
const POOL = '10.250.0.0/16';

/**
 * Fork on real QEMU: clones of a running block-rootfs sandbox start with its memory, processes
 * and files, each with its own address, MAC, hostname and RNG, and reach the network; the
 * source runs on; the fork's capture is gone once its clones run. Cold-booted and restored
 * sources alike (their VMs have different device layouts).
 */
describeIf(image !== undefined)('fork on real QEMU', () => {
  const vm = new SuiteRuntime(
    'fork',
    image!,
    { vcpus: 1, memoryMiB: 128, env: {}, tenantId: 'fork-test', rootfs: 'block', command: COUNTER_AND_LISTENER, network: { model: 'tcfilter', ports: [] } },
    ({ work }) => ({ network: { stateDir: join(work, 'network'), bridgePrefix: PREFIX, subnetPool: POOL }}),
  );
  const identity = (id: string) => vm.sh(id, 'echo "$(hostname) $(cat /etc/hostname) $(cat /sys/class/net/eth0/address) $(head -c 16 /dev/urandom | od -An -tx1 | tr -d " \\n")"');

  /** Forks `source` into `n` clones and checks what each of them and the source hold. */
  const fork = async (source: SandboxInfo, n: number): Promise<SandboxInfo[]> => {
    await vm.sh(source.id, 'echo kept > /tmp/marker');
    const before = await vm.count(source.id);
    const forkOf = { sandboxId: source.id, forkId: randomUUID(), count: n };
    const clones = await Promise.all(Array.from({ length: n }, () => vm.create({ forkOf })));
    for (const clone of clones) {
      expect(clone.timings.map((t) => t.phase)).toEqual(['jail', 'fork', 'network', 'wake', 'agent', 'identity']);
      expect(await vm.sh(clone.id, 'cat /tmp/marker')).toBe('kept');
      // The source's counter runs on in the clone, from where it was.
      const copied = await vm.count(clone.id);
      expect(copied).toBeGreaterThanOrEqual(before);
      await eventually(async () => expect(await vm.count(clone.id)).toBeGreaterThan(copied), { timeout: 10_000 });
    }
    const identities = await Promise.all([source, ...clones].map((info) => identity(info.id)));
    const [sourceName, , sourceMac] = identities[0].split(' ');
    expect(sourceName).toBe(source.id.slice(0, 8));
    clones.forEach((clone, i) => {
      const [name, file, mac] = identities[i + 1].split(' ');
      expect([name, file]).toEqual([clone.id.slice(0, 8), clone.id.slice(0, 8)]);
      expect(mac).not.toBe(sourceMac);
    });
    // Addresses, MACs and random bytes: all distinct.
    const ips = [source, ...clones].map((info) => info.network?.ip);
    expect(new Set(ips).size).toBe(n + 1);
    expect(new Set(identities.map((line) => line.split(' ')[2])).size).toBe(n + 1);
    expect(new Set(identities.map((line) => line.split(' ')[3])).size).toBe(n + 1);
    // The first clone reaches the source over the tenant network under its own identity.
    await eventually(async () => expect((await vm.runtime.exec(clones[0].id, { command: ['sh', '-c', `echo hello | nc -w 2 ${source.network?.ip} 7000`] })).exitCode).toBe(0), {
      timeout: 20_000,
      interval: 500,
    });
    await eventually(async () => expect(await vm.sh(source.id, 'cat /tmp/got')).toBe('hello'), { timeout: 10_000 });
    expect(vm.runtime.get(source.id)?.state).toBe('running');
    expect(await vm.count(source.id)).toBeGreaterThanOrEqual(before);
    expect(existsSync(join(vm.dirs.work, 'data', 'forks', forkOf.forkId))).toBe(false);
    return clones;
  };

  beforeAll(() => vm.start());

  afterAll(() => vm.stop({ networkPrefix: PREFIX }), 120_000);

  it('forks a cold-booted sandbox into two clones with its processes and files and identities of their own', async () => {
    const source = await vm.create();
    expect(source.timings.map((t) => t.phase)).toContain('vmm');
    await fork(source, 2);
  });

  it('forks a sandbox restored from a boot snapshot, and deleting every one leaves nothing', async () => {
    await vm.runtime.snapshotsIdle();
    const source = await vm.create();
    expect(source.timings.map((t) => t.phase)).toContain('restore');
    const [clone] = await fork(source, 1);
    for (const info of [clone, source]) {
      await vm.runtime.delete(info.id);
      expect(processesMentioning(info.id)).toEqual([]);
      expect(existsSync(join(vm.dirs.work, 'data', 'sandboxes', info.id))).toBe(false);
    }
  });
});
