import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import { Readable } from 'node:stream';
import { AgentErrorCode } from '../errors/agent.error';
import { ContainerFiles } from './container-files';
import { FileHandles } from './file-handles';

const CONTAINER = 'c1';
let base: string;
let root: string;
let outside: string;
let files: ContainerFiles;
let handles: FileHandles<never>;
let now = 0;

const code = (value: AgentErrorCode) => expect.objectContaining({ code: value });
const request = (path: string) => ({ containerId: CONTAINER, path });
const never = new AbortController().signal;

async function readAll(handle: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const chunk = await files.read(handle, 64 * 1024, never);
    if (chunk.length === 0) return Buffer.concat(parts);
    parts.push(chunk);
  }
}

async function upload(path: string, data: Buffer | string, options: { mode?: number; owner?: { uid: number; gid: number } } = {}) {
  const handle = await files.openWrite({
    ...request(path),
    mode: options.mode ?? 0,
    hasOwner: options.owner !== undefined,
    uid: options.owner?.uid ?? 0,
    gid: options.owner?.gid ?? 0,
  });
  await files.write(handle, Buffer.from(data));
  return files.commit(handle);
}

async function tarEntries(tar: Buffer): Promise<Record<string, { type: string; body: string; linkname?: string }>> {
  const entries: Record<string, { type: string; body: string; linkname?: string }> = {};
  const reader = extract();
  const done = new Promise<void>((resolve, reject) => {
    reader.on('entry', (header, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (part: unknown) => void parts.push(part as Buffer));
      stream.on('end', () => {
        entries[header.name] = { type: header.type, body: Buffer.concat(parts).toString(), ...(header.linkname ? { linkname: header.linkname } : {}) };
        next();
      });
    });
    reader.on('finish', resolve);
    reader.on('error', reject);
  });
  Readable.from([tar]).pipe(reader);
  await done;
  return entries;
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'moat-files-'));
  root = join(base, 'rootfs');
  outside = join(base, 'host-secret');
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'proc'));
  await writeFile(join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
  await writeFile(outside, 'not the container\'s');
  now = 0;
  handles = new FileHandles({ maxOpen: 4, idleMs: 60_000 }, () => now);
  files = new ContainerFiles({ fileRoot: () => ({ path: root, owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 } }) }, handles);
});

afterEach(async () => {
  handles.dispose();
  await rm(base, { recursive: true, force: true });
});

describe('ContainerFiles paths', () => {
  it.each(['../../etc/passwd', 'etc/passwd', '/etc/../etc/passwd', '/./etc', '/etc\0'])('refuses %j as a path', async (path) => {
    await expect(files.stat(request(path))).rejects.toEqual(code(AgentErrorCode.FILE_PATH_INVALID));
  });

  it('resolves absolute and climbing symlinks inside the container root, never above it', async () => {
    await symlink('/', join(root, 'up'));
    await symlink('../../../../../../host-secret', join(root, 'etc', 'climb'));
    await symlink(outside, join(root, 'abs'));
    expect((await files.stat(request('/up/etc/passwd'))).size).toBe(26);
    // Both would name the host's file if the kernel followed them; inside the root they name nothing.
    await expect(files.stat(request('/etc/climb'))).rejects.toEqual(code(AgentErrorCode.FILE_NOT_FOUND));
    await expect(files.openRead(request('/abs'))).rejects.toEqual(code(AgentErrorCode.FILE_NOT_FOUND));
  });

  it('refuses paths that lead into /proc, also through a symlink such as one to /proc/1/root', async () => {
    await symlink('/proc/1/root', join(root, 'escape'));
    await expect(files.stat(request('/proc/1/root/etc/passwd'))).rejects.toEqual(code(AgentErrorCode.FILE_PATH_INVALID));
    await expect(files.openRead(request('/escape/etc/passwd'))).rejects.toEqual(code(AgentErrorCode.FILE_PATH_INVALID));
    await expect(upload('/escape/etc/evil', 'x')).rejects.toEqual(code(AgentErrorCode.FILE_PATH_INVALID));
  });

  it('gives up on symlink loops', async () => {
    await symlink('/b', join(root, 'a'));
    await symlink('/a', join(root, 'b'));
    await expect(files.stat(request('/a'))).rejects.toEqual(code(AgentErrorCode.FILE_PATH_INVALID));
  });
});

describe('ContainerFiles reads', () => {
  it('reads a file in chunks, and stats and lists it', async () => {
    const { handle, info } = await files.openRead(request('/etc/passwd'));
    expect(info).toMatchObject({ name: 'passwd', type: 'file', size: 26, mode: 0o644 });
    expect((await readAll(handle)).toString()).toBe('root:x:0:0::/root:/bin/sh\n');
    const listing = await files.list(request('/etc'));
    expect(listing).toEqual({ entries: [expect.objectContaining({ name: 'passwd', type: 'file' })], truncated: false });
  });

  it('reads a directory as a tar of its tree, symlinks kept as links, /proc left out of the root', async () => {
    await mkdir(join(root, 'etc', 'sub'));
    await writeFile(join(root, 'etc', 'sub', 'a.txt'), 'aaa');
    await symlink('/etc/passwd', join(root, 'etc', 'link'));
    const { handle, info } = await files.openRead(request('/etc'));
    expect(info?.type).toBe('directory');
    const entries = await tarEntries(await readAll(handle));
    expect(entries).toEqual({
      link: { type: 'symlink', body: '', linkname: '/etc/passwd' },
      passwd: { type: 'file', body: 'root:x:0:0::/root:/bin/sh\n' },
      sub: { type: 'directory', body: '' },
      'sub/a.txt': { type: 'file', body: 'aaa' },
    });
    const whole = await files.openRead(request('/'));
    expect(Object.keys(await tarEntries(await readAll(whole.handle)))).not.toContain('proc');
  });

  it('answers not found for a missing file', async () => {
    await expect(files.openRead(request('/etc/shadow'))).rejects.toEqual(code(AgentErrorCode.FILE_NOT_FOUND));
  });
});

describe('ContainerFiles writes', () => {
  it('puts a file in place only on commit, making missing directories, with its mode', async () => {
    const handle = await files.openWrite({ ...request('/data/new/file.bin'), mode: 0o600, hasOwner: false, uid: 0, gid: 0 });
    await files.write(handle, Buffer.from('hello '));
    await files.write(handle, Buffer.from('world'));
    await expect(stat(join(root, 'data', 'new', 'file.bin'))).rejects.toThrow();
    const { info, created } = await files.commit(handle);
    expect(created).toBe(true);
    expect(info).toMatchObject({ name: 'file.bin', type: 'file', size: 11, mode: 0o600 });
    expect(await readFile(join(root, 'data', 'new', 'file.bin'), 'utf8')).toBe('hello world');
    expect(await readdir(join(root, 'data', 'new'))).toEqual(['file.bin']);
    expect((await upload('/data/new/file.bin', 'again')).created).toBe(false);
  });

  it('replaces a symlink at the path instead of writing through it', async () => {
    await symlink(outside, join(root, 'etc', 'trap'));
    await upload('/etc/trap', 'mine');
    expect(await readFile(outside, 'utf8')).toBe('not the container\'s');
    expect(await readFile(join(root, 'etc', 'trap'), 'utf8')).toBe('mine');
  });

  it('leaves nothing of an abandoned upload, also one closed for being idle', async () => {
    const closed = await files.openWrite({ ...request('/etc/half'), mode: 0, hasOwner: false, uid: 0, gid: 0 });
    await files.write(closed, Buffer.from('partial'));
    await files.close(closed);
    const idle = await files.openWrite({ ...request('/etc/idle'), mode: 0, hasOwner: false, uid: 0, gid: 0 });
    await files.write(idle, Buffer.from('partial'));
    now = 59_999;
    await handles.closeIdle();
    expect(handles.size).toBe(1);
    now = 60_000;
    await handles.closeIdle();
    expect(handles.size).toBe(0);
    expect((await readdir(join(root, 'etc'))).sort()).toEqual(['passwd']);
    await expect(files.write(idle, Buffer.from('more'))).rejects.toEqual(code(AgentErrorCode.INVALID_ARGUMENT));
    const removed = await files.openWrite({ ...request('/etc/gone'), mode: 0, hasOwner: false, uid: 0, gid: 0 });
    await files.forgetContainer(CONTAINER);
    await expect(files.commit(removed)).rejects.toEqual(code(AgentErrorCode.INVALID_ARGUMENT));
    expect((await readdir(join(root, 'etc'))).sort()).toEqual(['passwd']);
  });

  it('refuses to write over a directory or the root', async () => {
    await expect(upload('/etc', 'x')).rejects.toEqual(code(AgentErrorCode.FILE_PATH_INVALID));
    await expect(upload('/', 'x')).rejects.toEqual(code(AgentErrorCode.FILE_PATH_INVALID));
  });

  it('refuses more transfers than it keeps handles for', async () => {
    for (let i = 0; i < 4; i++) await files.openRead(request('/etc/passwd'));
    await expect(files.openRead(request('/etc/passwd'))).rejects.toEqual(code(AgentErrorCode.FILE_HANDLES_EXHAUSTED));
  });
});
