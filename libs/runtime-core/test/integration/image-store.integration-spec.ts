import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { describeIf } from '@moat/test-support';
import { RuntimeErrorCode } from '../../src';
import { NodeProcessAdapter } from '../../src/host/process.adapter';
import { ImageStore } from '../../src/image/image.store';
import { ProcessOverlayMarkers } from '../../src/image/layer.unpacker';
import { RegistryClient } from '../../src/image/registry.client';
import { BusyboxRootfs } from '../../src/rootfs/busybox.rootfs';
import { RootfsMounts } from '../../src/rootfs/rootfs-mounts';
import { SandboxRootfs } from '../../src/rootfs/sandbox.rootfs';
import { BlockRootfs } from '../../src/sharefs/block.share-fs';
import { busyboxLayer, REGISTRY_BINARY, startRegistry, type TestRegistry } from './support/registry';

/** Bytes of every file under `dir` (not following symlinks). */
function duBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? duBytes(path) : lstatSync(path).size;
  }
  return total;
}

describeIf(existsSync(REGISTRY_BINARY))('images from a real registry, unpacked and mounted on real Linux', () => {
  const proc = new NodeProcessAdapter();
  const overlay = new RootfsMounts(proc);
  let registry: TestRegistry;
  let work: string;
  let dataDir: string;
  let appRef: string;
  const mounted: string[] = [];

  const store = (maxCacheBytes = 0) =>
    new ImageStore({ dataDir, registry: new RegistryClient(), markers: new ProcessOverlayMarkers(proc), maxCacheBytes });
  const rootfs = (images = store()) => new SandboxRootfs(new BusyboxRootfs(proc), images, overlay);
  const sandboxDirs = (id: string) => {
    const scratchDir = join(dataDir, 'sandboxes', id);
    return { rootfsDir: join(scratchDir, 'shared', 'rootfs'), scratchDir };
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'moat-images-it-'));
    dataDir = join(work, 'data');
    registry = await startRegistry();
    appRef = await registry.push('moat/app', 'v1', {
      asIndex: true,
      layers: [
        [...busyboxLayer(), { name: 'etc/motd', body: 'from layer 1\n' }, { name: 'var/cache/', type: 'directory' }, { name: 'var/cache/old', body: 'stale' }],
        [
          { name: 'etc/.wh.motd' },
          { name: 'var/cache/.wh..wh..opq' },
          { name: 'var/cache/new', body: 'fresh' },
          { name: 'app/', type: 'directory' },
          { name: 'app/start.sh', mode: 0o755, body: '#!/bin/sh\necho "$GREETING"\n' },
        ],
      ],
      config: { Entrypoint: ['/app/start.sh'], Cmd: ['--serve'], Env: ['GREETING=hello', 'PATH=/bin'], WorkingDir: '/app', User: 'app' },
    });
  });

  afterAll(async () => {
    for (const target of mounted) await overlay.unmount(target).catch(() => undefined);
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('pulls an image index, picks linux/amd64, and mounts its layers with whiteouts and opaque dirs applied', async () => {
    const id = randomUUID();
    const dirs = sandboxDirs(id);
    const progress: { bytesDone: number; bytesTotal: number }[] = [];
    const prepared = await rootfs().prepare({ sandboxId: id, image: appRef, ...dirs, onProgress: (p) => progress.push(p) });
    mounted.push(dirs.rootfsDir);
    expect(prepared.process).toEqual({ args: ['/app/start.sh', '--serve'], env: { GREETING: 'hello', PATH: '/bin' }, cwd: '/app', user: { uid: 1000, gid: 1000 } });
    expect(progress.at(-1)!.bytesDone).toBe(progress.at(-1)!.bytesTotal);
    expect(progress.at(-1)!.bytesTotal).toBeGreaterThan(500_000);
    expect(readFileSync(join(dirs.rootfsDir, 'app/start.sh'), 'utf8')).toContain('GREETING');
    expect(existsSync(join(dirs.rootfsDir, 'etc/motd'))).toBe(false);
    expect(readdirSync(join(dirs.rootfsDir, 'var/cache'))).toEqual(['new']);
    // Writable, and writes land in the sandbox's upper dir, not in the shared layers.
    writeFileSync(join(dirs.rootfsDir, 'etc/written'), 'mine');
    expect(readFileSync(join(dirs.scratchDir, 'upper/etc/written'), 'utf8')).toBe('mine');
    await rootfs().release(id, dirs.rootfsDir);
  });

  it('builds a block rootfs from the merged tree', async () => {
    const id = randomUUID();
    const dirs = sandboxDirs(id);
    await rootfs().prepare({ sandboxId: id, image: appRef, ...dirs });
    mounted.push(dirs.rootfsDir);
    const block = new BlockRootfs(proc);
    const handle = await block.start({
      sandboxId: id,
      sharedDir: dirs.scratchDir,
      socketDir: work,
      enterCgroup: () => Promise.resolve(),
      logDir: dirs.scratchDir,
      rootfsDir: dirs.rootfsDir,
      diskDir: dirs.scratchDir,
    });
    expect(handle.attachment).toEqual({ kind: 'block', imagePath: join(dirs.scratchDir, 'rootfs.ext4') });
    // debugfs reads the image without mounting it: the image's files are there, the whited-out one is not.
    const { stdout } = await proc.run('debugfs', ['-R', 'ls -l /app', join(dirs.scratchDir, 'rootfs.ext4')]);
    expect(stdout).toContain('start.sh');
    const etc = await proc.run('debugfs', ['-R', 'ls /etc', join(dirs.scratchDir, 'rootfs.ext4')]);
    expect(etc.stdout).not.toContain('motd');
    await block.stop(handle);
    expect(existsSync(join(dirs.scratchDir, 'rootfs.ext4'))).toBe(false);
    await rootfs().release(id, dirs.rootfsDir);
  });

  const hostile: [string, Parameters<TestRegistry['push']>[2]['layers'][number], RegExp][] = [
    ['traversal', [{ name: '../../../../escaped-traversal', body: 'pwned' }], /path traversal/],
    ['symlink-escape', [{ name: 'evil', type: 'symlink', linkname: '../../../..' }, { name: 'evil/escaped-symlink', body: 'pwned' }], /symlink escape/],
    ['hardlink-escape', [{ name: 'passwd', type: 'link', linkname: '../../../../../../etc/passwd' }], /hardlink escape/],
    ['device-node', [{ name: 'dev/', type: 'directory' }, { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 }], /device node/],
  ];

  it.each(hostile)('refuses the hostile image %s, naming the problem, and writes nothing outside', async (name, layer, problem) => {
    const ref = await registry.push(`hostile/${name}`, 'v1', { layers: [busyboxLayer(), layer], config: { Cmd: ['/bin/sh'] } });
    const id = randomUUID();
    const dirs = sandboxDirs(id);
    const error = await rootfs().prepare({ sandboxId: id, image: ref, ...dirs }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RuntimeErrorCode.IMAGE_LAYER_UNSAFE });
    expect((error as Error).message).toMatch(problem);
    for (const dir of [work, dataDir, join(dataDir, 'images'), '/tmp', '/']) {
      expect(readdirSync(dir).filter((entry) => entry.startsWith('escaped'))).toEqual([]);
    }
    expect(readdirSync(join(dataDir, 'images', 'tmp'))).toEqual([]);
    await rootfs().release(id, dirs.rootfsDir);
  });

  it('keeps $MOAT_DATA_DIR from growing across 20 create/delete cycles, and GC removes unreferenced layers', async () => {
    const images = store(0);
    const cycle = async () => {
      const id = randomUUID();
      const dirs = sandboxDirs(id);
      const sandboxRootfs = rootfs(images);
      await sandboxRootfs.prepare({ sandboxId: id, image: appRef, ...dirs });
      mounted.push(dirs.rootfsDir);
      writeFileSync(join(dirs.rootfsDir, 'tmp/scratch'), Buffer.alloc(256 * 1024));
      expect((await images.usage()).layers).toBe(2);
      await sandboxRootfs.release(id, dirs.rootfsDir);
      rmSync(dirs.scratchDir, { recursive: true, force: true });
    };
    await cycle();
    mkdirSync(dataDir, { recursive: true });
    const after1 = duBytes(dataDir);
    for (let i = 0; i < 19; i++) await cycle();
    expect(duBytes(dataDir)).toBeLessThanOrEqual(after1);
    // Nothing references the layers and the cache bound is 0: they are gone.
    expect(await images.usage()).toEqual({ layers: 0, bytes: 0 });
    expect(readdirSync(join(dataDir, 'images', 'layers'))).toEqual([]);
    expect(readdirSync(join(dataDir, 'images', 'leases'))).toEqual([]);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(dataDir);
  });

  it('keeps recently used layers as a cache within MOAT_IMAGE_CACHE_MAX_BYTES and shares them between sandboxes', async () => {
    const images = store(1024 ** 3);
    const [a, b] = [randomUUID(), randomUUID()];
    const shared = rootfs(images);
    const first = await images.acquire(a, appRef);
    const second = await images.acquire(b, appRef);
    expect(second.layerDirs).toEqual(first.layerDirs);
    await shared.release(a, sandboxDirs(a).rootfsDir);
    await shared.release(b, sandboxDirs(b).rootfsDir);
    expect((await images.usage()).layers).toBe(2);
    const progress: number[] = [];
    await images.acquire(a, appRef, (p) => progress.push(p.bytesDone - p.bytesTotal));
    expect(progress).toEqual([0]);
    await images.release(a);
    expect(statSync(first.layerDirs[0]).isDirectory()).toBe(true);
  });
});
