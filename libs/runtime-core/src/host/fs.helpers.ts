import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { getSystemErrorName } from 'node:util';
import { loadLibc } from './libc';

/**
 * Replaces `path` (mode 0600) so that after a crash or a power cut it holds either its old
 * content or `data`, never a mix or nothing: `data` goes to a temporary file beside it, which
 * is fsynced before it is renamed over `path` (without that fsync, ext4 and XFS may commit the
 * rename before the data and leave an empty file), and the directory is fsynced after, so the
 * rename itself is on disk when this returns. The temporary file is removed when a step fails.
 */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  let handle: FileHandle | undefined;
  try {
    handle = await open(tmp, 'wx', 0o600);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw error;
  }
  await fsyncPath(dirname(path));
}

/**
 * fsyncs a file (one written by someone else, a VMM or a copy tool, before something durable
 * points at it) or a directory (so the names created, renamed or removed in it survive a power cut).
 */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `mkdir -p` whose new directories survive a power cut: the parent of each one it creates is fsynced. */
export async function mkdirDurable(dir: string, mode?: number): Promise<void> {
  const target = resolve(dir);
  const first = await mkdir(target, { recursive: true, ...(mode !== undefined && { mode }) });
  if (first === undefined) return;
  for (let created = target; dirname(created) !== created; created = dirname(created)) {
    await fsyncPath(dirname(created));
    if (created === resolve(first)) return;
  }
}

/**
 * syncfs(2): makes everything written on `path`'s filesystem durable. One call for a tree of
 * thousands of files (an unpacked image layer), where an fsync of each would cost a journal
 * commit apiece. Node has no binding for it.
 */
export async function syncFilesystem(path: string): Promise<void> {
  const libc = await loadLibc();
  const handle = await open(path, 'r');
  try {
    if (libc.syncfs(handle.fd) !== 0) {
      const errno = libc.errno();
      const code = getSystemErrorName(-errno);
      throw Object.assign(new Error(`syncfs ${path}: ${code}`), { code, errno: -errno, syscall: 'syncfs', path });
    }
  } finally {
    await handle.close();
  }
}

/** The last `maxBytes` of a file as text, or '' if it does not exist. */
export async function readTail(path: string, maxBytes: number): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `path` exists (e.g. a socket a child creates) or the timeout passes. */
export async function waitForPath(path: string, timeoutMs: number, isStillWorth: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pathExists(path)) return true;
    if (Date.now() >= deadline || !(await isStillWorth())) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
