import { readFile } from 'node:fs/promises';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { ProcessAdapter } from '../host/process.adapter';

/** mount(2) copies at most a page of options; beyond this, overlayfs would see a truncated lowerdir. */
const MAX_MOUNT_OPTIONS = 4000;

/** Host paths of one sandbox's overlay. */
export interface OverlayPaths {
  /** Where the merged tree is mounted (the container rootfs). */
  target: string;
  upperDir: string;
  workDir: string;
}

/**
 * Mounts a container rootfs with mount(8) and unmounts it with umount(8): an overlay of read-only
 * image layers under a writable upper dir, or a bind of a tree someone else assembled (the rootfs
 * containerd mounted in its bundle).
 */
export class RootfsMounts {
  constructor(private readonly proc: ProcessAdapter) {}

  /** `lowerDirs` bottom layer first (the image's order); overlayfs wants the top one first. */
  async overlay(lowerDirs: readonly string[], paths: OverlayPaths): Promise<void> {
    const options = `lowerdir=${[...lowerDirs].reverse().join(':')},upperdir=${paths.upperDir},workdir=${paths.workDir}`;
    if (options.length > MAX_MOUNT_OPTIONS) {
      throw new RuntimeError(RuntimeErrorCode.ROOTFS_FAILED, `image has too many layers (${lowerDirs.length}) for one overlay mount`);
    }
    await this.proc.run('mount', ['-t', 'overlay', 'overlay', '-o', options, paths.target]);
  }

  /** Makes the tree at `source` appear at `target` too; submounts of `source` are not carried. `readonly`: no write through `target`. */
  async bind(source: string, target: string, opts: { readonly?: boolean } = {}): Promise<void> {
    await this.proc.run('mount', ['--bind', source, target]);
    if (!opts.readonly) return;
    try {
      await this.proc.run('mount', ['-o', 'remount,bind,ro', target]);
    } catch (error) {
      await this.proc.run('umount', [target]);
      throw error;
    }
  }

  /**
   * Makes `dir` a mount of its own in a shared peer group, so that what is mounted under it
   * later also appears in the mount namespaces copied from it before (virtiofsd's and a jailed
   * VMM's, which are their slaves): how a pod's later containers reach its VM.
   */
  async share(dir: string): Promise<void> {
    await this.proc.run('mount', ['--bind', dir, dir]);
    try {
      await this.proc.run('mount', ['--make-shared', dir]);
    } catch (error) {
      await this.proc.run('umount', [dir]);
      throw error;
    }
  }

  /**
   * Detaches `target` now if something is mounted there (`umount -l`); the mount itself goes
   * once nothing holds it (virtiofsd keeps files of a share open until the guest forgets them).
   */
  async detach(target: string): Promise<void> {
    if (await this.isMounted(target)) await this.proc.run('umount', ['-l', target]);
  }

  /** Unmounts `target` if something is mounted there; idempotent. */
  async unmount(target: string): Promise<void> {
    if (await this.isMounted(target)) await this.proc.run('umount', [target]);
  }

  async isMounted(target: string): Promise<boolean> {
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    // Field 5 is the mount point, with spaces and backslashes octal-escaped.
    return mountinfo.split('\n').some((line) => line.split(' ')[4]?.replace(/\\040/g, ' ') === target);
  }
}
