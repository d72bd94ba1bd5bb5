import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { fsyncPath, mkdirDurable, syncFilesystem, writeFileAtomic } from './fs.helpers';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fs-helpers-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the file, mode 0600, and replaces it whole on the next write, leaving nothing beside it', async () => {
    const file = join(dir, 'state.json');
    await writeFileAtomic(file, '{"n":1}\n');
    expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    writeFileSync(file, 'a much longer old content that must not shine through');
    await writeFileAtomic(file, 'short');
    expect(readFileSync(file, 'utf8')).toBe('short');
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('leaves no temporary file and the old target in place when the rename fails', async () => {
    // A directory cannot be replaced by a file: the write and fsync succeed, the rename fails.
    const target = join(dir, 'taken');
    mkdirSync(join(target, 'inside'), { recursive: true });
    await expect(writeFileAtomic(target, 'data')).rejects.toMatchObject({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) });
    expect(readdirSync(dir)).toEqual(['taken']);
    expect(readdirSync(target)).toEqual(['inside']);
  });

  it('fails without creating anything when the directory does not exist', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'state.json'), 'data')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('fsyncPath', () => {
  it('syncs files and directories, and says when the path is not there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-helpers-'));
    try {
      writeFileSync(join(dir, 'memory'), 'x');
      await expect(fsyncPath(join(dir, 'memory'))).resolves.toBeUndefined();
      await expect(fsyncPath(dir)).resolves.toBeUndefined();
      await expect(fsyncPath(join(dir, 'gone'))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mkdirDurable and syncFilesystem', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fs-helpers-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes every missing level with the mode asked for, and is a no-op when the dir is there', async () => {
    const deep = join(dir, 'a', 'b', 'c');
    await mkdirDurable(deep, 0o700);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(statSync(join(dir, 'a')).mode & 0o777).toBe(0o700);
    await expect(mkdirDurable(deep)).resolves.toBeUndefined();
  });

  it('syncs the filesystem of a path, and says when the path is not there', async () => {
    await expect(syncFilesystem(dir)).resolves.toBeUndefined();
    await expect(syncFilesystem(join(dir, 'gone'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
