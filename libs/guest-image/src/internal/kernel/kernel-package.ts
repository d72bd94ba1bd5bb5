import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { GuestImageError, GuestImageErrorCode } from '../../errors/guest-image.error';
import { fileExists, sha256File } from '../host/files';
import type { ProcessRunner } from '../host/process.adapter';
import { kernelPackageFromDepends, parseControlStanza } from './deb-control';

/** The metapackage that always points at Debian's current generic amd64 kernel. */
export const KERNEL_METAPACKAGE = 'linux-image-amd64';

/** A versioned kernel package as the apt archive describes it. */
export interface KernelPackage {
  name: string;
  version: string;
  /** The archive's SHA-256 of the .deb: known before downloading, so it can key the image id. */
  sha256: string;
  fileName: string;
}

/**
 * Resolves the metapackage to the kernel package it depends on, from the local apt lists.
 * Runs `apt-get update` once if the lists do not know the package (fresh machines).
 */
export async function resolveKernelPackage(
  processes: ProcessRunner,
  log: (msg: string) => void,
): Promise<KernelPackage> {
  try {
    return await showKernelPackage(processes);
  } catch {
    log(`apt lists do not resolve ${KERNEL_METAPACKAGE}; running apt-get update`);
    await processes.run('apt-get', ['update']);
    try {
      return await showKernelPackage(processes);
    } catch (cause) {
      throw new GuestImageError(
        GuestImageErrorCode.KERNEL_PACKAGE_NOT_FOUND,
        `cannot resolve ${KERNEL_METAPACKAGE} from the apt archive`,
        { cause },
      );
    }
  }
}

async function showKernelPackage(processes: ProcessRunner): Promise<KernelPackage> {
  const meta = parseControlStanza(await aptShow(processes, KERNEL_METAPACKAGE));
  const name = kernelPackageFromDepends(meta.get('Depends') ?? '');
  if (!name) {
    throw new GuestImageError(
      GuestImageErrorCode.KERNEL_PACKAGE_NOT_FOUND,
      `${KERNEL_METAPACKAGE} ${meta.get('Version') ?? ''} depends on no linux-image package`,
    );
  }
  const image = parseControlStanza(await aptShow(processes, name));
  const version = image.get('Version');
  const sha256 = image.get('SHA256');
  const filename = image.get('Filename');
  if (!version || !sha256 || !filename) {
    throw new GuestImageError(
      GuestImageErrorCode.KERNEL_PACKAGE_NOT_FOUND,
      `apt-cache show ${name} lacks Version, SHA256 or Filename`,
    );
  }
  return { name, version, sha256, fileName: basename(filename) };
}

async function aptShow(processes: ProcessRunner, name: string): Promise<string> {
  // --no-all-versions: only the candidate, which is what apt-get download fetches.
  const { stdout } = await processes.run('apt-cache', ['show', '--no-all-versions', name]);
  return stdout.toString('utf8');
}

/**
 * Returns the path of the package's .deb in `cacheDir`, downloading it with
 * `apt-get download` unless a copy with the archive's checksum is already there.
 */
export async function fetchKernelDeb(
  processes: ProcessRunner,
  pkg: KernelPackage,
  cacheDir: string,
  log: (msg: string) => void,
): Promise<string> {
  await mkdir(cacheDir, { recursive: true });
  const debPath = join(cacheDir, pkg.fileName);
  if ((await fileExists(debPath)) && (await sha256File(debPath)) === pkg.sha256) {
    log(`using cached ${pkg.fileName}`);
    return debPath;
  }
  log(`downloading ${pkg.name} ${pkg.version}`);
  await processes.run('apt-get', ['download', `${pkg.name}=${pkg.version}`], { cwd: cacheDir });
  const actual = await sha256File(debPath);
  if (actual !== pkg.sha256) {
    throw new GuestImageError(
      GuestImageErrorCode.KERNEL_PACKAGE_CORRUPT,
      `${debPath} has sha256 ${actual}, the archive says ${pkg.sha256}`,
    );
  }
  return debPath;
}

/** Unpacks the .deb's files (never installs it: no maintainer scripts, no dpkg database). */
export async function extractDeb(processes: ProcessRunner, debPath: string, targetDir: string): Promise<void> {
  await mkdir(targetDir, { recursive: true });
  await processes.run('dpkg-deb', ['-x', debPath, targetDir]);
}
