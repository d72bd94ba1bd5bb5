import { lstat, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Files the guest agent binds into every container (its hostname, hosts and resolv.conf, as CRI
 * does). crun must find their mount points in the rootfs, and cannot create them on every shared
 * filesystem (9p), so they are made here, empty, when the image has none.
 */
export const SANDBOX_FILE_TARGETS = ['etc/hostname', 'etc/hosts', 'etc/resolv.conf'] as const;

/**
 * Creates the missing mount targets in `rootfsDir`. The tree is an untrusted image: nothing is
 * created through a symlink (an `etc` that is one, or a target that is one, is left to crun),
 * and a target is only ever created, never opened if it exists (O_EXCL does not follow links).
 */
export async function ensureMountTargets(rootfsDir: string): Promise<void> {
  const etc = join(rootfsDir, 'etc');
  const kind = await lstat(etc).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
  if (kind && !kind.isDirectory()) return;
  if (!kind) await mkdir(etc, { mode: 0o755 });
  for (const target of SANDBOX_FILE_TARGETS) {
    try {
      await (await open(join(rootfsDir, target), 'wx', 0o644)).close();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
