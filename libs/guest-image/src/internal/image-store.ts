import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GuestImageError, GuestImageErrorCode } from '../errors/guest-image.error';
import type { GuestImage } from '../image/guest-image';
import { fileExists } from './host/files';

const KERNEL_FILE = 'vmlinux';
const INITRD_FILE = 'initrd.img';
const ROOTFS_FILE = 'rootfs.ext4';
const MANIFEST_FILE = 'manifest.json';
const CURRENT_FILE = 'current.json';
const BUILD_PREFIX = '.build-';

/** What manifest.json records about an image; the input list makes a rebuild explainable. */
export interface Manifest {
  id: string;
  builderVersion: string;
  kernelRelease: string;
  kernelPackage: { name: string; version: string; sha256: string };
  modules: string[];
  inputs: Array<{ guestPath: string; hostPath: string; sha256: string }>;
  createdAt: string;
}

/** The images directory under a data dir: one subdirectory per image id, plus current.json. */
export function imagesDir(dataDir: string): string {
  return join(dataDir, 'guest-images');
}

/** Paths of an image's files inside a directory (final or being built). */
export function imagePaths(dir: string): { kernel: string; initrd: string; rootfs: string; manifest: string } {
  return {
    kernel: join(dir, KERNEL_FILE),
    initrd: join(dir, INITRD_FILE),
    rootfs: join(dir, ROOTFS_FILE),
    manifest: join(dir, MANIFEST_FILE),
  };
}

/** The image with this id if it is complete on disk. */
export async function readImage(dataDir: string, id: string): Promise<GuestImage | undefined> {
  const dir = join(imagesDir(dataDir), id);
  const paths = imagePaths(dir);
  for (const path of Object.values(paths)) {
    if (!(await fileExists(path))) return undefined;
  }
  const manifest = parseJson(await readFile(paths.manifest, 'utf8'), paths.manifest);
  if (!isRecord(manifest) || manifest.id !== id || typeof manifest.kernelRelease !== 'string') {
    throw new GuestImageError(GuestImageErrorCode.MANIFEST_INVALID, `${paths.manifest} does not describe image ${id}`);
  }
  const rootfsBytes = (await stat(paths.rootfs)).size;
  return { id, dir, kernel: paths.kernel, initrd: paths.initrd, rootfs: paths.rootfs, rootfsBytes, kernelRelease: manifest.kernelRelease };
}

/** The id current.json names, if there is one. */
export async function readCurrentId(dataDir: string): Promise<string | undefined> {
  const path = join(imagesDir(dataDir), CURRENT_FILE);
  if (!(await fileExists(path))) return undefined;
  const current = parseJson(await readFile(path, 'utf8'), path);
  if (!isRecord(current) || typeof current.id !== 'string' || !/^[0-9a-f]{64}$/.test(current.id)) {
    throw new GuestImageError(GuestImageErrorCode.MANIFEST_INVALID, `${path} names no image id`);
  }
  return current.id;
}

/** Points current.json at an image; written to a temp file and renamed, so readers never see half. */
export async function writeCurrentId(dataDir: string, id: string): Promise<void> {
  const path = join(imagesDir(dataDir), CURRENT_FILE);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify({ id }, null, 2)}\n`);
  await rename(temp, path);
}

/**
 * A scratch directory for one build, under the images dir so the final rename stays on one
 * filesystem (and so is atomic). Its name carries our pid for `pruneImages`.
 */
export async function createBuildDir(dataDir: string): Promise<string> {
  const dir = join(imagesDir(dataDir), `${BUILD_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Moves a finished image directory to its id. Loses quietly to a concurrent build of the
 * same inputs that got there first: both images are equivalent.
 */
export async function publishImage(dataDir: string, builtDir: string, id: string): Promise<void> {
  try {
    await rename(builtDir, join(imagesDir(dataDir), id));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
  }
}

/**
 * Deletes every image but `keepId`, and scratch directories of builds whose process is gone.
 * VMs still running an old image keep their open files; Linux frees them when QEMU exits.
 */
export async function pruneImages(dataDir: string, keepId: string): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await readdir(imagesDir(dataDir), { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === keepId) continue;
    if (entry.name.startsWith(BUILD_PREFIX) && isAlive(Number(entry.name.slice(BUILD_PREFIX.length).split('-')[0]))) continue;
    await rm(join(imagesDir(dataDir), entry.name), { recursive: true, force: true });
    removed.push(entry.name);
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new GuestImageError(GuestImageErrorCode.MANIFEST_INVALID, `${path} is not JSON`, { cause });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
