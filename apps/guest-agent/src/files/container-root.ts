import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readlink, type FileHandle } from 'node:fs/promises';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import { fileError } from './file-errors';

/** Linux's own bound on symlinks followed in one lookup. */
const MAX_SYMLINKS = 40;
const MAX_PATH_LENGTH = 4096;
/** Kernel filesystems that are not the container's files; writing there would reach the guest kernel. */
const VIRTUAL_TOP_DIRS = new Set(['proc', 'sys', 'dev']);
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** For the root (`/proc/<pid>/root`) and `/proc/self/fd/N` themselves, which are links the kernel must follow. */
const LINKED_DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY;

/**
 * The path of `name` inside the directory open as `dir`: the kernel resolves `/proc/self/fd/N`
 * to that very directory, so the lookup is `openat(N, name)`: a component swapped for a
 * symlink after it was checked cannot redirect it.
 */
export function inDir(dir: FileHandle, name: string): string {
  return `/proc/self/fd/${dir.fd}/${name}`;
}

/** The components of a container path: absolute, without `.`/`..`, NUL or empty names. */
export function pathComponents(path: string): string[] {
  if (typeof path !== 'string' || !path.startsWith('/')) throw invalidPath(`"${path}" is not an absolute path`);
  if (path.length > MAX_PATH_LENGTH) throw invalidPath(`the path is longer than ${MAX_PATH_LENGTH} characters`);
  if (path.includes('\0')) throw invalidPath('the path holds a NUL character');
  const components = path.split('/').filter((component) => component !== '');
  if (components.some((component) => component === '.' || component === '..')) {
    throw invalidPath(`"${path}" has "." or ".." components; give the path itself`);
  }
  return components;
}

/** What a path resolved to: its directory, open, and its last component (absent where the root itself was asked for). */
export interface ResolvedPath {
  /** The directory holding `name`; the root itself when `name` is undefined. */
  readonly dir: FileHandle;
  readonly name?: string;
  /** `lstat` of the final component; undefined when it does not exist. */
  readonly stats?: Stats;
  /** The full path of `dir/name` for `/proc/self/fd` access. */
  readonly location: string;
  /** Closes every directory handle the resolution opened, the root's included. */
  release(): Promise<void>;
}

export interface ResolveOptions {
  /** Follow a symlink in the last component (stat, read); a write replaces the link itself. */
  followFinal: boolean;
  /** Make missing directories on the way (mode 0755, this owner) instead of answering not found. */
  makeParents?: { uid: number; gid: number };
}

/**
 * Resolves container paths as the container's processes would, inside its root only: `..` in a
 * symlink's target stops at the root and absolute targets start again from it, like openat2's
 * RESOLVE_IN_ROOT. Every step looks up one name in a directory already open, so a process in
 * the container racing the agent cannot lead it elsewhere in the guest. /proc, /sys and /dev
 * are refused: they are the guest kernel's, not the container's files.
 */
export class ContainerRoot {
  constructor(
    /** The container's root directory as the agent sees it (`/proc/<init pid>/root` while it runs). */
    private readonly rootPath: string,
  ) {}

  async resolve(path: string, options: ResolveOptions): Promise<ResolvedPath> {
    const pending = pathComponents(path);
    const stack: Array<{ name: string; handle: FileHandle }> = [];
    const root = await open(this.rootPath, LINKED_DIR_FLAGS).catch((error: unknown) => {
      throw fileError(error, 'the container root');
    });
    const release = async (): Promise<void> => {
      await Promise.all([root, ...stack.map((entry) => entry.handle)].map((handle) => handle.close().catch(() => undefined)));
    };
    const top = (): FileHandle => stack.at(-1)?.handle ?? root;
    const shown = (name: string): string => `/${[...stack.map((entry) => entry.name), name].join('/')}`;
    try {
      let symlinks = 0;
      for (;;) {
        const name = pending.shift();
        if (name === undefined) return { dir: top(), location: `/proc/self/fd/${top().fd}`, release };
        if (name === '' || name === '.') continue;
        if (name === '..') {
          await stack.pop()?.handle.close();
          continue;
        }
        if (stack.length === 0 && VIRTUAL_TOP_DIRS.has(name)) {
          throw invalidPath(`${path} leads into /${name}, which is the guest kernel's, not the container's files`);
        }
        const dir = top();
        const last = pending.length === 0;
        const stats = await lstat(inDir(dir, name)).catch((error: unknown) => {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw fileError(error, shown(name));
        });
        if (stats?.isSymbolicLink() && (!last || options.followFinal)) {
          if (++symlinks > MAX_SYMLINKS) throw invalidPath(`${path}: more than ${MAX_SYMLINKS} symlinks on the way`);
          const target = await readlink(inDir(dir, name));
          if (target.startsWith('/')) {
            await Promise.all(stack.splice(0).map((entry) => entry.handle.close()));
          }
          pending.unshift(...target.split('/'));
          continue;
        }
        if (last) return { dir, name, stats, location: inDir(dir, name), release };
        if (!stats) {
          if (!options.makeParents) throw new AgentError(AgentErrorCode.FILE_NOT_FOUND, `no directory ${shown(name)}`);
          await mkdir(inDir(dir, name), { mode: 0o755 }).catch((error: unknown) => {
            if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError(error, shown(name));
          });
          const made = await open(inDir(dir, name), DIR_FLAGS).catch((error: unknown) => {
            throw fileError(error, shown(name));
          });
          stack.push({ name, handle: made });
          await made.chown(options.makeParents.uid, options.makeParents.gid);
          continue;
        }
        if (!stats.isDirectory()) throw invalidPath(`${shown(name)} is not a directory`);
        const handle = await open(inDir(dir, name), DIR_FLAGS).catch((error: unknown) => {
          throw fileError(error, shown(name));
        });
        stack.push({ name, handle });
      }
    } catch (error) {
      await release();
      throw error;
    }
  }
}

/** Opens the resolved path as a directory of its own (to list it or archive it); the caller closes it. */
export async function openDirectory(resolved: ResolvedPath, shown: string): Promise<FileHandle> {
  const flags = resolved.name === undefined ? LINKED_DIR_FLAGS : DIR_FLAGS;
  return open(resolved.location, flags).catch((error: unknown) => {
    throw fileError(error, shown);
  });
}

function invalidPath(message: string): AgentError {
  return new AgentError(AgentErrorCode.FILE_PATH_INVALID, message);
}
