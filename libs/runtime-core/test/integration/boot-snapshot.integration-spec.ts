import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { describeIf, processesMentioning } from '@moat/test-support';
import type { SandboxInfo } from '../../src';
import { dataDirOfImages, findGuestImage } from './support/guest-image';
import { SuiteRuntime } from './support/suite-runtime';

const image = findGuestImage();
if (!image) console.warn(`boot snapshot integration tests skipped: no guest image under ${dataDirOfImages}/guest-images`);

const phases = (info: SandboxInfo) => info.timings.map((t) => t.phase);

/**
 * Boot snapshots on real QEMU: a shape's first sandbox boots cold and has its snapshot saved;
 * the next ones are restored from it with their own share hot-plugged, and must be as good as
 * a booted VM: their own RNG, the host's time, a writable rootfs, and nothing left on delete.
 */
describeIf(image !== undefined)('boot snapshots on real QEMU', () => {
  const guestImage = image!;
  const vm = new SuiteRuntime('snap', guestImage, { vcpus: 1, memoryMiB: 128, env: {} });
  const restoreFailures = () => vm.warnings.filter((line) => line.startsWith('restoring a boot snapshot failed'));
  const snapshotDirs = () => readdirSync(join(vm.dirs.work, 'data', 'boot-snapshots')).filter((name) => !name.startsWith('.'));

  beforeAll(() => vm.start());

  afterAll(() => vm.stop());

  it("boots a shape's first sandbox cold and saves its snapshot in the background", async () => {
    const first = await vm.create();
    expect(phases(first)).toContain('vmm');
    expect(phases(first)).not.toContain('restore');
    await vm.runtime.snapshotsIdle();
    expect(snapshotDirs()).toHaveLength(1);
    // The snapshot VM is gone once saved (its processes name their dirs under this runtime's).
    expect(processesMentioning(join(vm.dirs.runDir, 'snapshot-'))).toEqual([]);
  });

  it('restores later sandboxes of the shape, each with its own RNG, the host clock and a writable virtio-fs rootfs', async () => {
    const a = await vm.create();
    const b = await vm.create();
    // A restore that fell back to a cold boot logged why.
    expect(restoreFailures()).toEqual([]);
    for (const info of [a, b]) {
      expect(phases(info)).toEqual(['rootfs', 'jail', 'sharefs', 'restore', 'agent', 'sandbox', 'container']);
      expect(info.guest?.kernelRelease).toBe(guestImage.kernelRelease);
    }
    // Both guests resume from the same saved RNG state; the VM generation id change must reseed it.
    const [randomA, randomB] = await Promise.all([a, b].map((info) => vm.sh(info.id, 'head -c 32 /dev/urandom | od -An -tx1 | tr -d " \\n"')));
    expect(randomA).toMatch(/^[0-9a-f]{64}$/);
    expect(randomA).not.toBe(randomB);
    const guestNow = Number(await vm.sh(a.id, 'date +%s'));
    expect(Math.abs(guestNow - Date.now() / 1000)).toBeLessThan(30);
    expect(await vm.sh(a.id, 'echo restored > /written && cat /written && hostname')).toBe(`restored\n${a.id.slice(0, 8)}`);
    expect(await vm.sh(b.id, 'test -e /written && echo shared || echo separate')).toBe('separate');
  });

  it('restores a block-rootfs sandbox by hot-plugging its disk', async () => {
    const info = await vm.create({ rootfs: 'block' });
    expect(restoreFailures()).toEqual([]);
    expect(phases(info)).toContain('restore');
    expect(await vm.sh(info.id, 'grep -c " / ext4 " /proc/mounts; echo ok > /f; cat /f')).toBe('1\nok');
  });

  it('boots cold, discards the snapshot and saves a new one when a snapshot does not restore', async () => {
    const [key] = snapshotDirs();
    writeFileSync(join(vm.dirs.work, 'data', 'boot-snapshots', key, 'state'), 'not a QEMU migration stream');
    const info = await vm.create();
    expect(phases(info)).toEqual(['rootfs', 'jail', 'sharefs', 'restore', 'vmm', 'agent', 'sandbox', 'container']);
    await vm.runtime.snapshotsIdle();
    expect(snapshotDirs()).toEqual([key]);
    expect(phases(await vm.create())).toContain('restore');
  });

  it('leaves no process, memory file or socket dir of a restored sandbox after delete', async () => {
    const info = await vm.create();
    expect(existsSync(join(vm.dirs.memoryDir, `${info.id}.mem`))).toBe(true);
    await vm.runtime.delete(info.id);
    expect(processesMentioning(info.id)).toEqual([]);
    expect(existsSync(join(vm.dirs.memoryDir, `${info.id}.mem`))).toBe(false);
    expect(existsSync(join(vm.dirs.runDir, info.id))).toBe(false);
  });
});
