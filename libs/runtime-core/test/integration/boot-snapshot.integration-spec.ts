import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { describeIf } from '@moat/test-support';
import { SandboxRuntime, type SandboxInfo, type SandboxSpec } from '../../src';
import { accel, dataDirOfImages, findGuestImage, processesMentioning } from './support/guest-image';
import { makeVmDirs, removeLeftovers, removeVmDirs } from './support/vm-dirs';

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
  let work: string;
  let runDir: string;
  let memoryDir: string;
  let runtime: SandboxRuntime;
  const ids: string[] = [];
  const create = async (overrides: Partial<SandboxSpec> = {}): Promise<SandboxInfo> => {
    const id = randomUUID();
    ids.push(id);
    const info = await runtime.create({ id, vcpus: 1, memoryMiB: 128, env: {}, ...overrides });
    expect(info.error).toBeUndefined();
    expect(info.state).toBe('running');
    return info;
  };
  const sh = async (id: string, script: string): Promise<string> => {
    const out = await runtime.exec(id, { command: ['sh', '-c', script] });
    expect(out.stderr.toString()).toBe('');
    expect(out.exitCode).toBe(0);
    return out.stdout.toString().trim();
  };
  const snapshotDirs = () => readdirSync(join(work, 'data', 'boot-snapshots')).filter((name) => !name.startsWith('.'));

  beforeAll(async () => {
    ({ work, runDir, memoryDir } = makeVmDirs('snap'));
    runtime = await SandboxRuntime.open({ dataDir: join(work, 'data'), runDir, memoryDir, guestImage, accel });
  });

  afterAll(async () => {
    for (const id of ids) await runtime.delete(id).catch(() => undefined);
    await runtime.close();
    removeLeftovers([...ids, join(runDir, 'snapshot-')]);
    removeVmDirs({ work, runDir, memoryDir });
  });

  it("boots a shape's first sandbox cold and saves its snapshot in the background", async () => {
    const first = await create();
    expect(phases(first)).toContain('vmm');
    expect(phases(first)).not.toContain('restore');
    await runtime.snapshotsIdle();
    expect(snapshotDirs()).toHaveLength(1);
    // The snapshot VM is gone once saved (its processes name their dirs under this runtime's).
    expect(processesMentioning(join(runDir, 'snapshot-'))).toEqual([]);
  });

  it('restores later sandboxes of the shape, each with its own RNG, the host clock and a writable virtio-fs rootfs', async () => {
    const a = await create();
    const b = await create();
    for (const info of [a, b]) {
      expect(phases(info)).toEqual(['rootfs', 'jail', 'sharefs', 'restore', 'agent', 'sandbox', 'container']);
      expect(info.guest?.kernelRelease).toBe(guestImage.kernelRelease);
    }
    // Both guests resume from the same saved RNG state; the VM generation id change must reseed it.
    const [randomA, randomB] = await Promise.all([a, b].map((info) => sh(info.id, 'head -c 32 /dev/urandom | od -An -tx1 | tr -d " \\n"')));
    expect(randomA).toMatch(/^[0-9a-f]{64}$/);
    expect(randomA).not.toBe(randomB);
    const guestNow = Number(await sh(a.id, 'date +%s'));
    expect(Math.abs(guestNow - Date.now() / 1000)).toBeLessThan(30);
    expect(await sh(a.id, 'echo restored > /written && cat /written && hostname')).toBe(`restored\n${a.id.slice(0, 8)}`);
    expect(await sh(b.id, 'test -e /written && echo shared || echo separate')).toBe('separate');
  });

  it('restores a block-rootfs sandbox by hot-plugging its disk', async () => {
    const info = await create({ rootfs: 'block' });
    expect(phases(info)).toContain('restore');
    expect(await sh(info.id, 'grep -c " / ext4 " /proc/mounts; echo ok > /f; cat /f')).toBe('1\nok');
  });

  it('boots cold, discards the snapshot and saves a new one when a snapshot does not restore', async () => {
    const [key] = snapshotDirs();
    writeFileSync(join(work, 'data', 'boot-snapshots', key, 'state'), 'not a QEMU migration stream');
    const info = await create();
    expect(phases(info)).toEqual(['rootfs', 'jail', 'sharefs', 'restore', 'vmm', 'agent', 'sandbox', 'container']);
    await runtime.snapshotsIdle();
    expect(snapshotDirs()).toEqual([key]);
    expect(phases(await create())).toContain('restore');
  });

  it('leaves no process, memory file or socket dir of a restored sandbox after delete', async () => {
    const info = await create();
    expect(existsSync(join(memoryDir, `${info.id}.mem`))).toBe(true);
    await runtime.delete(info.id);
    expect(processesMentioning(info.id)).toEqual([]);
    expect(existsSync(join(memoryDir, `${info.id}.mem`))).toBe(false);
    expect(existsSync(join(runDir, info.id))).toBe(false);
  });
});
