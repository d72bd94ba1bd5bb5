import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readdir, readlink, rename, unlink, type FileHandle } from 'node:fs/promises';
import {
  AGENT_MAX_CHUNK_BYTES,
  MAX_FILE_LIST_ENTRIES,
  MAX_FILE_OWNER_ID,
  type CommitFileResponse,
  type FileInfo,
  type FileListResponse,
  type FilePathRequest,
  type OpenReadResponse,
  type OpenWriteRequest,
} from '@moat/proto';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import { StreamBuffer } from '../process/stream-buffer';
import { ContainerRoot, inDir, openDirectory, type ResolvedPath } from './container-root';
import { directoryTar } from './directory-tar';
import { fileError } from './file-errors';
import { FileHandles, type OpenFile } from './file-handles';
import { fileInfo } from './file-info';

/** Where a container's files are and whom new files belong to by default. */
export interface FileRoot {
  /** The container's root as the agent sees it. */
  path: string;
  /** The container process's user. */
  owner: { uid: number; gid: number };
}

export interface FileRoots {
  fileRoot(containerId: string): FileRoot;
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** What a read handle buffers ahead of the host's next ReadFile. */
const READ_AHEAD_BYTES = 2 * AGENT_MAX_CHUNK_BYTES;
const DEFAULT_FILE_MODE = 0o644;
/** Entries of the container's root that a tar of "/" leaves out, as paths into them are refused. */
const KERNEL_DIRS = new Set(['proc', 'sys', 'dev']);

interface FileReader extends OpenFile {
  readonly kind: 'read';
  readonly buffer: StreamBuffer;
}

interface FileWriter extends OpenFile {
  readonly kind: 'write';
  readonly file: FileHandle;
  commit(): Promise<CommitFileResponse>;
}

/**
 * Files inside containers for the host (stat, list, read a file or a directory as tar, write
 * a file): every path is resolved inside the container's root by {@link ContainerRoot}, and
 * writes land in a new file renamed into place only when complete, so a reader never sees half
 * of an upload and an abandoned one leaves nothing.
 */
export class ContainerFiles {
  constructor(
    private readonly roots: FileRoots,
    private readonly handles: FileHandles<FileReader | FileWriter>,
  ) {}

  async stat(request: FilePathRequest): Promise<FileInfo> {
    return this.withPath(request, { followFinal: true }, (resolved) => infoOf(resolved, request.path));
  }

  async list(request: FilePathRequest): Promise<FileListResponse> {
    return this.withPath(request, { followFinal: true }, async (resolved) => {
      const info = await infoOf(resolved, request.path);
      if (info.type !== 'directory') return { entries: [info], truncated: false };
      const dir = await openDirectory(resolved, request.path);
      try {
        const names = (await readdir(`/proc/self/fd/${dir.fd}`)).sort();
        const shown = names.slice(0, MAX_FILE_LIST_ENTRIES);
        const entries: FileInfo[] = [];
        for (const name of shown) {
          const stats = await lstat(inDir(dir, name)).catch(() => undefined);
          if (stats) entries.push(fileInfo(name, stats, stats.isSymbolicLink() ? await readlink(inDir(dir, name)) : ''));
        }
        return { entries, truncated: names.length > shown.length };
      } finally {
        await dir.close();
      }
    });
  }

  /** A regular file's bytes, or a directory's tree as a tar stream. */
  async openRead(request: FilePathRequest): Promise<OpenReadResponse> {
    this.handles.ensureRoom();
    return this.withPath(request, { followFinal: true }, async (resolved) => {
      const info = await infoOf(resolved, request.path);
      let source;
      if (info.type === 'directory') {
        const dir = await openDirectory(resolved, request.path);
        source = directoryTar(dir, resolved.name === undefined ? KERNEL_DIRS : undefined);
        source.once('close', () => void dir.close());
      } else if (info.type === 'file') {
        const file = await open(resolved.location, READ_FLAGS).catch((error: unknown) => {
          throw fileError(error, request.path);
        });
        if (!(await file.stat()).isFile()) {
          await file.close();
          throw new AgentError(AgentErrorCode.FILE_PATH_INVALID, `${request.path} is not a regular file`);
        }
        source = file.createReadStream({ highWaterMark: AGENT_MAX_CHUNK_BYTES });
      } else {
        throw new AgentError(AgentErrorCode.FILE_PATH_INVALID, `${request.path} is a ${info.type}, neither a file nor a directory`);
      }
      const stream = source;
      const reader: FileReader = {
        kind: 'read',
        containerId: request.containerId,
        buffer: new StreamBuffer(stream, READ_AHEAD_BYTES),
        close: () => {
          stream.destroy();
          return Promise.resolve();
        },
      };
      return { handle: this.handles.add(reader), info };
    });
  }

  /** Up to `len` bytes; empty at the end. Waits for bytes until `signal` aborts. */
  async read(handle: number, len: number, signal: AbortSignal): Promise<Buffer> {
    const reader = this.handles.get(handle);
    if (reader.kind !== 'read') throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `file handle ${handle} is open for writing`);
    if (!Number.isInteger(len) || len < 1 || len > AGENT_MAX_CHUNK_BYTES) {
      throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `len must be 1-${AGENT_MAX_CHUNK_BYTES}, got ${len}`);
    }
    return reader.buffer.read(len, signal);
  }

  async openWrite(request: OpenWriteRequest): Promise<number> {
    this.handles.ensureRoom();
    const root = this.roots.fileRoot(request.containerId);
    const owner = request.hasOwner ? { uid: validId('uid', request.uid), gid: validId('gid', request.gid) } : root.owner;
    const mode = request.mode === 0 ? DEFAULT_FILE_MODE : request.mode;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `mode must be permission bits (0-07777), got ${mode}`);
    }
    const resolved = await new ContainerRoot(root.path).resolve(request.path, { followFinal: false, makeParents: owner });
    try {
      const name = resolved.name;
      if (name === undefined || resolved.stats?.isDirectory()) {
        throw new AgentError(AgentErrorCode.FILE_PATH_INVALID, `${request.path} is a directory; give the path of a file`);
      }
      const temporary = `.moat-upload-${randomBytes(8).toString('hex')}`;
      const file = await open(inDir(resolved.dir, temporary), WRITE_FLAGS, 0o600).catch((error: unknown) => {
        throw fileError(error, request.path);
      });
      let settled = false;
      const discard = async (): Promise<void> => {
        if (settled) return;
        settled = true;
        await file.close().catch(() => undefined);
        await unlink(inDir(resolved.dir, temporary)).catch(() => undefined);
        await resolved.release();
      };
      const writer: FileWriter = {
        kind: 'write',
        containerId: request.containerId,
        file,
        close: discard,
        commit: async () => {
          try {
            await file.chmod(mode);
            await file.chown(owner.uid, owner.gid);
            await file.close();
            const existing = await lstat(resolved.location).catch(() => undefined);
            if (existing?.isDirectory()) {
              throw new AgentError(AgentErrorCode.FILE_PATH_INVALID, `${request.path} became a directory during the upload`);
            }
            await rename(inDir(resolved.dir, temporary), resolved.location);
            const info = fileInfo(name, await lstat(resolved.location));
            settled = true;
            await resolved.release();
            return { info, created: existing === undefined };
          } catch (error) {
            await discard();
            throw fileError(error, request.path);
          }
        },
      };
      return this.handles.add(writer);
    } catch (error) {
      await resolved.release();
      throw error;
    }
  }

  async write(handle: number, data: Uint8Array): Promise<void> {
    const writer = this.writer(handle);
    if (data.length > AGENT_MAX_CHUNK_BYTES) {
      throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `a WriteFile chunk may hold at most ${AGENT_MAX_CHUNK_BYTES} bytes`);
    }
    try {
      await writer.file.write(data);
    } catch (error) {
      await this.handles.close(handle);
      throw fileError(error, 'the upload');
    }
  }

  async commit(handle: number): Promise<CommitFileResponse> {
    const writer = this.writer(handle);
    this.handles.take(handle);
    return writer.commit();
  }

  close(handle: number): Promise<void> {
    return this.handles.close(handle);
  }

  /** The container is going: every transfer into it ends. */
  forgetContainer(containerId: string): Promise<void> {
    return this.handles.closeContainer(containerId);
  }

  private writer(handle: number): FileWriter {
    const writer = this.handles.get(handle);
    if (writer.kind !== 'write') throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `file handle ${handle} is open for reading`);
    return writer;
  }

  private async withPath<T>(
    request: FilePathRequest,
    options: { followFinal: boolean },
    use: (resolved: ResolvedPath) => Promise<T>,
  ): Promise<T> {
    const root = this.roots.fileRoot(request.containerId);
    const resolved = await new ContainerRoot(root.path).resolve(request.path, options);
    try {
      return await use(resolved);
    } finally {
      await resolved.release();
    }
  }
}

async function infoOf(resolved: ResolvedPath, path: string): Promise<FileInfo> {
  if (resolved.name === undefined) return fileInfo('/', await resolved.dir.stat());
  if (!resolved.stats) throw new AgentError(AgentErrorCode.FILE_NOT_FOUND, `no such file or directory: ${path}`);
  const target = resolved.stats.isSymbolicLink() ? await readlink(resolved.location) : '';
  return fileInfo(resolved.name, resolved.stats, target);
}

function validId(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_FILE_OWNER_ID) {
    throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `${name} must be 0-${MAX_FILE_OWNER_ID}, got ${value}`);
  }
  return value;
}
