import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from '@jest/globals';
import { MoveErrorCode } from './move.errors';
import { checkNames, packFiles, unpackInto } from './saved-state-archive';

const MiB = 1024 * 1024;

describe('saved-state archive', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'moat-archive-'));
    dirs.push(dir);
    return dir;
  }

  /** A 64 MiB file with 4 KiB of data in it: a writable disk image is mostly holes. */
  async function sparseFile(path: string): Promise<void> {
    const file = await open(path, 'w');
    await file.truncate(64 * MiB);
    await file.write(Buffer.alloc(4096, 0x5a), 0, 4096, 17 * MiB);
    await file.close();
  }

  it('carries files to another dir, a sparse one still sparse, and counts the bytes it sent', async () => {
    const from = await tempDir();
    const to = await tempDir();
    await sparseFile(join(from, 'disk.img'));
    await mkdir(join(from, 'vm'));
    await writeFile(join(from, 'vm', 'hibernated.state'), 'saved RAM');
    await writeFile(join(from, 'left-behind'), 'not listed');

    const packed = packFiles(from, ['disk.img', 'vm/hibernated.state']);
    await unpackInto(to, packed.stream);
    const bytes = await packed.done;

    const [sent, received] = await Promise.all([stat(join(from, 'disk.img')), stat(join(to, 'disk.img'))]);
    expect(received.size).toBe(64 * MiB);
    expect(received.blocks).toBeLessThanOrEqual(sent.blocks + 8);
    expect(received.blocks * 512).toBeLessThan(MiB);
    expect((await readFile(join(to, 'disk.img'))).equals(await readFile(join(from, 'disk.img')))).toBe(true);
    expect(await readFile(join(to, 'vm', 'hibernated.state'), 'utf8')).toBe('saved RAM');
    expect((await readdir(to)).sort()).toEqual(['disk.img', 'vm']);
    // The holes did not travel as zeros.
    expect(bytes).toBeGreaterThan(4096);
    expect(bytes).toBeLessThan(MiB);
  });

  it('refuses to pack a name that is absolute or leaves the dir', () => {
    for (const name of ['../x', '/etc/passwd', 'vm/../../x', '']) {
      expect(() => checkNames([name])).toThrow(expect.objectContaining({ code: MoveErrorCode.MOVE_PATH_UNSAFE }));
    }
    expect(() => checkNames(['disk.img', 'vm/hibernated.state', '..state'])).not.toThrow();
    expect(() => packFiles('/tmp', ['../x'])).toThrow(expect.objectContaining({ code: MoveErrorCode.MOVE_PATH_UNSAFE }));
  });

  it('fails a pack of a missing file with what tar said', async () => {
    const from = await tempDir();
    const packed = packFiles(from, ['missing.img']);
    packed.stream.resume();
    await expect(packed.done).rejects.toMatchObject({ code: MoveErrorCode.MOVE_ARCHIVE_FAILED, message: expect.stringContaining('missing.img') });
  });

  /** An archive made by tar with names it would refuse to make from our list (-P keeps `..` and `/`). */
  function archiveOf(dir: string, args: string[]): Buffer {
    const made = spawnSync('tar', ['-c', '-f', '-', '-C', dir, ...args], { maxBuffer: 16 * MiB });
    expect(made.status).toBe(0);
    return made.stdout;
  }

  it('refuses to unpack a member that leaves the dir, with what tar said', async () => {
    const outer = await tempDir();
    await mkdir(join(outer, 'inner'));
    await writeFile(join(outer, 'escape'), 'outside');
    const archive = archiveOf(join(outer, 'inner'), ['-P', '../escape']);
    const to = await tempDir();
    await expect(unpackInto(to, Readable.from([archive]))).rejects.toMatchObject({
      code: MoveErrorCode.MOVE_ARCHIVE_FAILED,
      message: expect.stringContaining('..'),
    });
  });

  it('refuses an archive holding a link, which could point the runtime outside the dir', async () => {
    const from = await tempDir();
    await symlink('/etc/passwd', join(from, 'disk.img'));
    const to = await tempDir();
    await expect(unpackInto(to, Readable.from([archiveOf(from, ['disk.img'])]))).rejects.toMatchObject({
      code: MoveErrorCode.MOVE_PATH_UNSAFE,
    });
  });

  it('fails on a stream that is not a whole archive', async () => {
    const to = await tempDir();
    const from = await tempDir();
    await writeFile(join(from, 'a'), Buffer.alloc(64 * 1024, 1));
    const archive = archiveOf(from, ['a']);
    await expect(unpackInto(to, Readable.from([archive.subarray(0, 20_000)]))).rejects.toMatchObject({ code: MoveErrorCode.MOVE_ARCHIVE_FAILED });
  });
});
