import { constants } from 'node:fs';
import { lstat, open, readdir, readlink, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pack, type Pack } from 'tar-stream';
import { inDir } from './container-root';
import { fileTypeOf } from './file-info';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
// O_NONBLOCK: a file swapped for a FIFO after its lstat must not block the agent on open.
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const COPY_CHUNK_BYTES = 256 * 1024;

/**
 * A tar stream of the tree under the open directory `dir`: regular files, directories and
 * symlinks (stored as links, never followed); devices, FIFOs and sockets are left out. Names are
 * relative to `dir`. `skipTop` names entries of `dir` itself to leave out (the kernel's
 * filesystems when `dir` is the container's root). Each file is read as it is when its turn
 * comes; one that changes size meanwhile is cut or padded with zeros to the size its header
 * gave. The caller owns `dir`; the stream never closes it.
 */
export function directoryTar(dir: FileHandle, skipTop: ReadonlySet<string> = new Set()): Readable {
  const tar = pack();
  void addTree(tar, dir, '', skipTop).then(
    () => tar.finalize(),
    (error: unknown) => tar.destroy(error instanceof Error ? error : new Error(String(error))),
  );
  return tar as unknown as Readable;
}

async function addTree(tar: Pack, dir: FileHandle, prefix: string, skip: ReadonlySet<string>): Promise<void> {
  const names = (await readdir(`/proc/self/fd/${dir.fd}`)).filter((name) => !skip.has(name)).sort();
  for (const name of names) {
    if (tar.destroyed) return;
    const location = inDir(dir, name);
    const stats = await lstat(location).catch(() => undefined);
    if (!stats) continue; // gone since the listing
    const header = { name: `${prefix}${name}`, mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, mtime: stats.mtime };
    switch (fileTypeOf(stats)) {
      case 'directory': {
        const child = await open(location, DIR_FLAGS).catch(() => undefined);
        if (!child) continue;
        try {
          await addEntry(tar, { ...header, type: 'directory' });
          await addTree(tar, child, `${prefix}${name}/`, new Set());
        } finally {
          await child.close();
        }
        break;
      }
      case 'symlink':
        await addEntry(tar, { ...header, type: 'symlink', linkname: await readlink(location) });
        break;
      case 'file': {
        const file = await open(location, FILE_FLAGS).catch(() => undefined);
        if (!file) continue;
        try {
          const current = await file.stat();
          if (!current.isFile()) continue;
          await addFile(tar, { ...header, type: 'file', size: current.size }, file, current.size);
        } finally {
          await file.close();
        }
        break;
      }
      case 'other':
        break;
    }
  }
}

function addEntry(tar: Pack, header: Parameters<Pack['entry']>[0]): Promise<void> {
  return new Promise((resolve, reject) => {
    tar.entry(header, (error) => (error ? reject(error) : resolve()));
  });
}

/** Writes exactly `size` bytes of `file`, waiting whenever the tar's reader is behind. */
async function addFile(tar: Pack, header: Parameters<Pack['entry']>[0], file: FileHandle, size: number): Promise<void> {
  let done!: () => void;
  let failed!: (error: Error) => void;
  const written = new Promise<void>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  const entry = tar.entry(header, (error) => (error ? failed(error) : done()));
  const buffer = Buffer.alloc(Math.min(COPY_CHUNK_BYTES, Math.max(size, 1)));
  for (let offset = 0; offset < size; ) {
    const want = Math.min(buffer.length, size - offset);
    const { bytesRead } = await file.read(buffer, 0, want, offset);
    // A file that shrank since its header was written: zeros keep the archive well-formed.
    const chunk = bytesRead === 0 ? Buffer.alloc(want) : Buffer.from(buffer.subarray(0, bytesRead));
    offset += chunk.length;
    if (!entry.write(chunk)) await drainedOrClosed(entry, tar);
    if (tar.destroyed) return;
  }
  entry.end(undefined); // streamx types want an argument; undefined adds no data
  await written;
}

/** Resolves when `entry` takes more, or when the tar was closed (its reader gave up) and nothing will. */
function drainedOrClosed(entry: ReturnType<Pack['entry']>, tar: Pack): Promise<void> {
  return new Promise((resolve) => {
    const settle = (): void => {
      entry.off('drain', settle);
      tar.off('close', settle);
      resolve();
    };
    entry.once('drain', settle);
    tar.once('close', settle);
  });
}
