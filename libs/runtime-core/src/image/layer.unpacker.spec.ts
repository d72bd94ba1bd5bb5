import { mkdtemp, mkdir, readdir, readFile, readlink, rm, stat, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { layerTar, type LayerEntry } from '@moat/test-registry';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { RuntimeErrorCode } from '../errors/runtime.errors';
import { unpackLayer, type OverlayMarkers } from './layer.unpacker';

class RecordingMarkers implements OverlayMarkers {
  whiteouts: string[] = [];
  opaques: string[] = [];
  whiteout(path: string): Promise<void> {
    this.whiteouts.push(path);
    return Promise.resolve();
  }
  opaque(dir: string): Promise<void> {
    this.opaques.push(dir);
    return Promise.resolve();
  }
}

let base: string;
let target: string;
let markers: RecordingMarkers;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'moat-unpack-'));
  target = join(base, 'layer');
  await mkdir(target);
  markers = new RecordingMarkers();
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function unpack(entries: LayerEntry[], gzip = true) {
  const raw = await layerTar(entries);
  const blob = join(base, 'blob');
  await writeFile(blob, gzip ? gzipSync(raw) : raw);
  return unpackLayer(blob, target, markers, { maxEntryBytes: 1024 * 1024, maxLayerBytes: 2 * 1024 * 1024, maxEntries: 100 });
}

/** Everything under `base` except the layer and the blob: must stay empty whatever a layer tries. */
async function outside(): Promise<string[]> {
  return (await readdir(base)).filter((name) => name !== 'layer' && name !== 'blob');
}

describe('unpackLayer', () => {
  it('writes files, directories, symlinks and hardlinks with their modes and owners', async () => {
    const result = await unpack([
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/motd', body: 'hello\n', mode: 0o640, uid: 1000, gid: 1000 },
      { name: './bin/tool', body: '#!/bin/sh\n', mode: 0o4755 },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'bin/tool2', type: 'link', linkname: 'bin/tool' },
      { name: 'locked/', type: 'directory', mode: 0o500 },
      { name: 'locked/inside', body: 'x' },
    ]);
    expect(await readFile(join(target, 'etc/motd'), 'utf8')).toBe('hello\n');
    const motd = await stat(join(target, 'etc/motd'));
    expect([motd.mode & 0o7777, motd.uid, motd.gid]).toEqual([0o640, 1000, 1000]);
    expect((await stat(join(target, 'bin/tool'))).mode & 0o7777).toBe(0o4755);
    expect(await readlink(join(target, 'bin/sh'))).toBe('/bin/busybox');
    expect((await stat(join(target, 'bin/tool2'))).ino).toBe((await stat(join(target, 'bin/tool'))).ino);
    expect((await stat(join(target, 'locked'))).mode & 0o777).toBe(0o500);
    expect(await readFile(join(target, 'locked/inside'), 'utf8')).toBe('x');
    expect(result.diffId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.bytes).toBe(6 + 10 + 1);
  });

  it('reports the DiffID of the uncompressed stream, the same for gzip and plain tar', async () => {
    const entries = [{ name: 'a', body: 'a' }];
    const gz = await unpack(entries);
    await rm(target, { recursive: true });
    await mkdir(target);
    const plain = await unpack(entries, false);
    expect(gz.diffId).toBe(plain.diffId);
  });

  it('turns OCI whiteouts and opaque markers into overlayfs ones', async () => {
    await unpack([
      { name: 'etc/.wh.passwd', body: '' },
      { name: 'var/cache/.wh..wh..opq', body: '' },
    ]);
    expect(markers.whiteouts).toEqual([join(target, 'etc/passwd')]);
    expect(markers.opaques).toEqual([join(target, 'var/cache')]);
    await expect(lstat(join(target, 'etc/.wh.passwd'))).rejects.toThrow(/ENOENT/);
  });

  const hostile: [string, LayerEntry[], RegExp][] = [
    ['path traversal', [{ name: '../../escaped', body: 'pwned' }], /path traversal/],
    ['an absolute path', [{ name: `/${'x'}/escaped`, body: 'pwned' }], /absolute path/],
    [
      'a write through a symlink',
      [
        { name: 'evil', type: 'symlink', linkname: '..' },
        { name: 'evil/escaped', body: 'pwned' },
      ],
      /symlink escape/,
    ],
    ['a hardlink to a host file', [{ name: 'shadow', type: 'link', linkname: '/etc/shadow' }], /hardlink escape/],
    ['a hardlink leaving the layer', [{ name: 'shadow', type: 'link', linkname: '../escaped' }], /hardlink escape/],
    [
      'a hardlink through a symlink',
      [
        { name: 'up', type: 'symlink', linkname: '/etc' },
        { name: 'shadow', type: 'link', linkname: 'up/shadow' },
      ],
      /hardlink escape/,
    ],
    ['a device node', [{ name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 }], /device node/],
    ['a character device', [{ name: 'mem', type: 'character-device', devmajor: 1, devminor: 1 }], /device node/],
  ];

  it.each(hostile)('refuses %s, naming the problem, and writes nothing outside', async (_what, entries, problem) => {
    const error = await unpack(entries).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: RuntimeErrorCode.IMAGE_LAYER_UNSAFE });
    expect((error as Error).message).toMatch(problem);
    expect(await outside()).toEqual([]);
  });

  it('refuses a file whose declared size is absurd', async () => {
    const error = await unpack([{ name: 'big', body: 'x'.repeat(2 * 1024 * 1024) }]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/"big".*over the 1048576-byte limit/);
  });

  it('refuses a layer whose files add up past the limit', async () => {
    const body = 'x'.repeat(900 * 1024);
    const error = await unpack([1, 2, 3].map((n) => ({ name: `f${n}`, body }))).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/"f3".*layer exceeds/);
  });
});
