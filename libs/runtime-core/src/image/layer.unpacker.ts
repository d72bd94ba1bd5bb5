import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, rm, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { ProcessAdapter } from '../host/process.adapter';

/** Bounds on what one layer may hold; anything past them is refused, not truncated. */
export interface UnpackLimits {
  /** Largest single entry, in bytes. */
  maxEntryBytes: number;
  /** Largest total of all entries (uncompressed), in bytes. */
  maxLayerBytes: number;
  maxEntries: number;
}

export const DEFAULT_UNPACK_LIMITS: UnpackLimits = {
  maxEntryBytes: 8 * 1024 ** 3,
  maxLayerBytes: 32 * 1024 ** 3,
  maxEntries: 1_000_000,
};

/**
 * The two overlayfs markers Node cannot make itself: a whiteout is a 0/0 character device, an
 * opaque directory carries the `trusted.overlay.opaque` xattr.
 */
export interface OverlayMarkers {
  whiteout(path: string): Promise<void>;
  opaque(dir: string): Promise<void>;
}

/** Makes overlay markers with mknod(1) and setfattr(1) (Debian `attr`). */
export class ProcessOverlayMarkers implements OverlayMarkers {
  constructor(private readonly proc: ProcessAdapter) {}

  async whiteout(path: string): Promise<void> {
    await this.proc.run('mknod', ['-m', '000', path, 'c', '0', '0']);
  }

  async opaque(dir: string): Promise<void> {
    await this.proc.run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', dir]);
  }
}

export interface UnpackResult {
  /** sha256 of the uncompressed tar stream: the layer's DiffID. */
  diffId: string;
  /** Bytes of file content written. */
  bytes: number;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/**
 * Unpacks one image layer (tar, optionally gzip-compressed) into `target`, an empty directory,
 * as an overlayfs lower layer: OCI whiteouts become overlay whiteouts and opaque directories.
 *
 * Nothing is ever written outside `target`: absolute names and `..` are refused, no entry may
 * go through a symlink (checked with lstat on every component), hardlinks must point inside the
 * layer, and device nodes, FIFOs and entries beyond `limits` are refused. Every refusal is a
 * `RuntimeError` with code `IMAGE_LAYER_UNSAFE` whose message names the entry and the problem.
 */
export async function unpackLayer(
  blobPath: string,
  target: string,
  markers: OverlayMarkers,
  limits: UnpackLimits = DEFAULT_UNPACK_LIMITS,
): Promise<UnpackResult> {
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const tar = extract();
  const writer = new LayerWriter(target, markers, limits);
  const consume = (async () => {
    for await (const entry of tar) {
      await writer.write(entry.header, entry);
    }
  })();
  // If the writer refuses an entry, stop feeding the parser so the pipeline does not hang.
  consume.catch(() => tar.destroy());
  await Promise.all([pipeline(createReadStream(blobPath), await decompressorFor(blobPath), hashing, tar), consume]);
  await writer.finish();
  return { diffId: `sha256:${hash.digest('hex')}`, bytes: writer.bytes };
}

async function decompressorFor(blobPath: string): Promise<Transform> {
  const head = Buffer.alloc(4);
  const handle = await open(blobPath, 'r');
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (GZIP_MAGIC.every((byte, i) => head[i] === byte)) return createGunzip();
  if (ZSTD_MAGIC.every((byte, i) => head[i] === byte)) {
    throw new RuntimeError(RuntimeErrorCode.IMAGE_PULL_FAILED, 'zstd-compressed layers are not supported; push the image with gzip layers');
  }
  return new PassThrough();
}

/** An entry's content as tar-stream hands it over (a streamx stream): read it or resume it, before the next entry. */
type LayerEntryBody = AsyncIterable<unknown> & { resume(): unknown };

interface PendingDir {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  mtime?: Date;
}

class LayerWriter {
  bytes = 0;
  private entries = 0;
  private readonly dirs: PendingDir[] = [];

  constructor(
    private readonly root: string,
    private readonly markers: OverlayMarkers,
    private readonly limits: UnpackLimits,
  ) {}

  async write(header: Header, body: LayerEntryBody): Promise<void> {
    const name = header.name;
    if (++this.entries > this.limits.maxEntries) throw unsafe(name, `more than ${this.limits.maxEntries} entries in one layer`);
    const parts = safeParts(name, 'path');
    const type = header.type ?? 'file';
    if (parts.length === 0) {
      // "./" itself: the layer root, whose metadata the rootfs does not need.
      body.resume();
      return;
    }
    const base = parts[parts.length - 1];
    const parent = await this.ensureDir(parts.slice(0, -1), name);

    if (base === OPAQUE_MARKER) {
      body.resume();
      await this.markers.opaque(parent);
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      body.resume();
      const hidden = base.slice(WHITEOUT_PREFIX.length);
      if (hidden === '' || hidden === '.' || hidden === '..') throw unsafe(name, 'whiteout names no file');
      const path = join(parent, hidden);
      await rm(path, { recursive: true, force: true });
      await this.markers.whiteout(path);
      return;
    }

    const path = join(parent, base);
    const existing = await lstatOrUndefined(path);
    if (existing && !(existing.isDirectory() && type === 'directory')) await rm(path, { recursive: true, force: true });
    const uid = header.uid ?? 0;
    const gid = header.gid ?? 0;
    const mode = (header.mode ?? 0o644) & 0o7777;

    switch (type) {
      case 'file':
      case 'contiguous-file':
        await this.writeFile(path, name, header.size ?? 0, body);
        await lchown(path, uid, gid);
        // After chown: chown clears set-id bits.
        await chmod(path, mode);
        if (header.mtime) await utimes(path, header.mtime, header.mtime);
        return;
      case 'directory':
        body.resume();
        if (!existing) await mkdir(path, { mode: 0o700 });
        this.dirs.push({ path, mode, uid, gid, mtime: header.mtime });
        return;
      case 'symlink': {
        body.resume();
        // The target is interpreted inside the guest, where the rootfs is `/`; the host never follows it.
        const linkname = header.linkname ?? '';
        if (linkname === '') throw unsafe(name, 'symlink without a target');
        await symlink(linkname, path);
        await lchown(path, uid, gid);
        if (header.mtime) await lutimes(path, header.mtime, header.mtime);
        return;
      }
      case 'link': {
        body.resume();
        const source = await this.hardlinkSource(name, header.linkname ?? '');
        await link(source, path);
        return;
      }
      case 'character-device':
      case 'block-device':
        throw unsafe(name, `device node (${type} ${header.devmajor ?? 0}:${header.devminor ?? 0}) refused`);
      case 'fifo':
        throw unsafe(name, 'FIFOs are not supported in image layers');
      default:
        // pax and GNU long-name records are folded into the next entry by the parser.
        body.resume();
        return;
    }
  }

  /** Applies directory modes last, deepest first, so a read-only directory can still be filled. */
  async finish(): Promise<void> {
    for (const dir of this.dirs.reverse()) {
      await lchown(dir.path, dir.uid, dir.gid);
      await chmod(dir.path, dir.mode);
      if (dir.mtime) await utimes(dir.path, dir.mtime, dir.mtime);
    }
  }

  private async writeFile(path: string, name: string, size: number, body: LayerEntryBody): Promise<void> {
    if (size > this.limits.maxEntryBytes) throw unsafe(name, `declares ${size} bytes, over the ${this.limits.maxEntryBytes}-byte limit for one file`);
    if (this.bytes + size > this.limits.maxLayerBytes) throw unsafe(name, `layer exceeds the ${this.limits.maxLayerBytes}-byte limit`);
    this.bytes += size;
    // wx: O_CREAT|O_EXCL never follows a symlink planted at the path.
    await pipeline(Readable.from(body), createWriteStream(path, { flags: 'wx', mode: 0o600 }));
  }

  /** Creates missing parent directories one by one, refusing to pass through anything but a real directory. */
  private async ensureDir(parts: string[], name: string): Promise<string> {
    let dir = this.root;
    for (const part of parts) {
      dir = join(dir, part);
      const stat = await lstatOrUndefined(dir);
      if (!stat) {
        await mkdir(dir, { mode: 0o755 });
      } else if (stat.isSymbolicLink()) {
        throw unsafe(name, `goes through the symlink ${relativeTo(this.root, dir)} (symlink escape)`);
      } else if (!stat.isDirectory()) {
        throw unsafe(name, `parent ${relativeTo(this.root, dir)} is not a directory`);
      }
    }
    return dir;
  }

  private async hardlinkSource(name: string, linkname: string): Promise<string> {
    const parts = safeParts(linkname, 'hardlink target', name);
    if (parts.length === 0) throw unsafe(name, 'hardlink without a target');
    const source = join(await this.ensureExistingDir(parts.slice(0, -1), name), parts[parts.length - 1]);
    const stat = await lstatOrUndefined(source);
    if (!stat) throw unsafe(name, `hardlink target ${linkname} is not in this layer (hardlink escape)`);
    if (stat.isDirectory()) throw unsafe(name, `hardlink target ${linkname} is a directory`);
    return source;
  }

  private async ensureExistingDir(parts: string[], name: string): Promise<string> {
    let dir = this.root;
    for (const part of parts) {
      dir = join(dir, part);
      const stat = await lstatOrUndefined(dir);
      if (!stat?.isDirectory()) throw unsafe(name, `hardlink target goes through ${relativeTo(this.root, dir)}, which is not a directory in this layer (hardlink escape)`);
    }
    return dir;
  }
}

/** Splits a tar name into components, refusing absolute names and `..` (path traversal). */
function safeParts(raw: string, what: string, entry = raw): string[] {
  if (raw.includes('\0')) throw unsafe(entry, `${what} contains a NUL byte`);
  if (raw.startsWith('/')) {
    throw unsafe(entry, what === 'path' ? 'absolute path refused' : `${what} ${raw} is absolute (hardlink escape)`);
  }
  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) {
    throw unsafe(entry, what === 'path' ? 'path traversal (..) refused' : `${what} ${raw} leaves the layer (hardlink escape)`);
  }
  return parts;
}

function unsafe(entry: string, problem: string): RuntimeError {
  return new RuntimeError(RuntimeErrorCode.IMAGE_LAYER_UNSAFE, `unsafe layer entry ${JSON.stringify(entry)}: ${problem}`, { context: { entry } });
}

function relativeTo(root: string, path: string): string {
  return path.slice(root.length + 1);
}

async function lstatOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
