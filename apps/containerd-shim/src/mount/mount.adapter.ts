import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Mount } from '@moat/containerd-api';
import { ShimError, ShimErrorCode } from '../errors/shim.error';
import type { Mounter } from './mounter';

/** How long mount(8) or umount(8) may take. */
const MOUNT_TIMEOUT_MS = 30_000;
/** More mounts than this on one rootfs is a loop that is not making progress. */
const MAX_STACKED_MOUNTS = 32;

/** A process runner: resolves on exit status 0, else rejects with stderr in the error. */
export type RunCommand = (command: string, args: readonly string[]) => Promise<void>;

/**
 * mount(8)'s argv for one of containerd's mounts on `target`. A bind mount goes without `-t`
 * (the kernel ignores the type of a bind, and mount(8) would look for a filesystem named
 * "bind"); options go as one `-o` list, in containerd's order.
 */
export function mountArgs(mount: Mount, target: string): string[] {
  const isBind = mount.type === 'bind' || mount.options.some((option) => option === 'bind' || option === 'rbind');
  return [
    ...(mount.type !== '' && !isBind ? ['-t', mount.type] : []),
    ...(mount.options.length > 0 ? ['-o', mount.options.join(',')] : []),
    mount.source,
    target,
  ];
}

/** The mount points in /proc/self/mountinfo's text (field 5, octal escapes undone), in mount order. */
export function mountPoints(mountinfo: string): string[] {
  return mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((field): field is string => field !== undefined && field !== '')
    .map((field) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
}

/** Mounts with mount(8) and unmounts with umount(8), reading /proc/self/mountinfo for what is mounted. */
export class MountAdapter implements Mounter {
  constructor(
    private readonly run: RunCommand = runCommand,
    private readonly readMountinfo: () => Promise<string> = () => readFile('/proc/self/mountinfo', 'utf8'),
  ) {}

  async mount(mounts: readonly Mount[], target: string): Promise<void> {
    let mounted = 0;
    try {
      for (const mount of mounts) {
        await this.run('mount', mountArgs(mount, target));
        mounted++;
      }
    } catch (cause) {
      for (; mounted > 0; mounted--) await this.run('umount', [target]).catch(() => undefined);
      throw new ShimError(ShimErrorCode.MOUNT_FAILED, `mount rootfs on ${target}: ${(cause as Error).message}`, { cause });
    }
  }

  async unmountAll(target: string): Promise<void> {
    for (let i = 0; i < MAX_STACKED_MOUNTS; i++) {
      if (!(await this.isMounted(target))) return;
      try {
        await this.run('umount', [target]);
      } catch (cause) {
        throw new ShimError(ShimErrorCode.UNMOUNT_FAILED, `unmount ${target}: ${(cause as Error).message}`, { cause });
      }
    }
    throw new ShimError(ShimErrorCode.UNMOUNT_FAILED, `unmount ${target}: still mounted after ${MAX_STACKED_MOUNTS} unmounts`);
  }

  private async isMounted(target: string): Promise<boolean> {
    return mountPoints(await this.readMountinfo()).includes(target);
  }
}

function runCommand(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: MOUNT_TIMEOUT_MS, encoding: 'utf8' }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve();
    });
  });
}
