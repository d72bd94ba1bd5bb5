import { mkdir, stat } from 'node:fs/promises';
import { isAbsolute, normalize } from 'node:path';
import type { Storage } from '@moat/proto';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { HostCommands } from '../host/host-commands.adapter';
import { pollFor } from '../host/poll';

// QEMU's 9p default msize (8 KiB) makes every read a round trip; 512 KiB is what Kata uses in practice.
const DEFAULT_9P_MSIZE = 512 * 1024;
/**
 * virtio devices probe asynchronously and there is no udev: a disk's node may appear a little
 * after boot, and a hot-plugged device (a VM restored from a boot snapshot) after the plug.
 */
const DEVICE_WAIT_MS = 10_000;
const DEVICE_POLL_MS = 50;

/** True when `path` exists; the seam unit tests replace. */
export type PathProbe = (path: string) => Promise<boolean>;

const pathExists: PathProbe = (path) => stat(path).then(
  () => true,
  () => false,
);

/** The `mount` argv for one Storage, or INVALID_ARGUMENT. */
export function mountArgs(storage: Storage): string[] {
  const mountPoint = checkedMountPoint(storage.mountPoint);
  const options = [...storage.options];
  if (options.some((option) => option.includes(','))) {
    throw invalid('storage options must be given one per entry, without commas');
  }
  const withOptions = (list: string[]): string[] => (list.length > 0 ? ['-o', list.join(',')] : []);
  const source = storage.source;
  switch (storage.driver) {
    case '9p': {
      requireSource(storage);
      const hasMsize = options.some((option) => option.startsWith('msize='));
      const base = ['trans=virtio', 'version=9p2000.L', ...(hasMsize ? [] : [`msize=${DEFAULT_9P_MSIZE}`])];
      return ['-t', '9p', ...withOptions([...base, ...options]), source, mountPoint];
    }
    case 'virtiofs':
      requireSource(storage);
      return ['-t', 'virtiofs', ...withOptions(options), source, mountPoint];
    case 'blk':
      requireSource(storage);
      if (!isAbsolute(source)) throw invalid(`blk storage source must be a device path, got "${source}"`);
      return ['-t', storage.fstype || 'ext4', ...withOptions(options), source, mountPoint];
    case 'tmpfs':
      return ['-t', 'tmpfs', ...withOptions(options), 'tmpfs', mountPoint];
    default:
      throw invalid(`unknown storage driver "${storage.driver}" (expected 9p, virtiofs, blk or tmpfs)`);
  }
}

/** Mounts and unmounts Storages with the guest's mount(8), creating mount points as needed. */
export class StorageMounter {
  constructor(
    private readonly host: HostCommands,
    private readonly exists: PathProbe = pathExists,
    private readonly deviceWaitMs = DEVICE_WAIT_MS,
  ) {}

  /** Mounts every storage in order; on failure unmounts the ones already mounted. Returns the mount points. */
  async mountAll(storages: readonly Storage[]): Promise<string[]> {
    const argvs = storages.map(mountArgs);
    const mounted: string[] = [];
    try {
      for (const [i, args] of argvs.entries()) {
        const mountPoint = args[args.length - 1];
        if (storages[i].driver === 'blk') await this.waitForDevice(storages[i].source);
        if (storages[i].driver === 'virtiofs') await this.mountWhenPlugged(mountPoint, args);
        else await this.mountOne(mountPoint, args);
        mounted.push(mountPoint);
      }
    } catch (error) {
      await this.unmountAll(mounted).catch(() => undefined);
      throw error;
    }
    return mounted;
  }

  /** Unmounts in reverse order, trying them all and reporting the first failure. */
  async unmountAll(mountPoints: readonly string[]): Promise<void> {
    let firstError: AgentError | undefined;
    for (const mountPoint of [...mountPoints].reverse()) {
      const result = await this.host.run('umount', [mountPoint]);
      if (result.exitCode !== 0) {
        firstError ??= new AgentError(AgentErrorCode.MOUNT_FAILED, `umount ${mountPoint}: ${result.stderr}`);
      }
    }
    if (firstError) throw firstError;
  }

  private async waitForDevice(device: string): Promise<void> {
    if (!(await pollFor(async () => (await this.exists(device)) || undefined, this.deviceWaitMs, DEVICE_POLL_MS))) {
      throw new AgentError(AgentErrorCode.MOUNT_FAILED, `block device ${device} did not appear within ${this.deviceWaitMs} ms`);
    }
  }

  /**
   * A virtio-fs device hot-plugged into a VM restored from a boot snapshot shows up a moment
   * after the host plugged it, and its tag cannot be listed on this kernel: retry the mount.
   */
  private async mountWhenPlugged(mountPoint: string, args: string[]): Promise<void> {
    let failure: unknown;
    const mount = () =>
      this.mountOne(mountPoint, args).then(
        () => true,
        (error: unknown) => {
          failure = error;
          return undefined;
        },
      );
    if (!(await pollFor(mount, this.deviceWaitMs, DEVICE_POLL_MS))) throw failure;
  }

  private async mountOne(mountPoint: string, args: string[]): Promise<void> {
    try {
      await mkdir(mountPoint, { recursive: true });
    } catch (cause) {
      throw new AgentError(AgentErrorCode.MOUNT_FAILED, `create mount point ${mountPoint}`, { cause });
    }
    const result = await this.host.run('mount', args);
    if (result.exitCode !== 0) {
      throw new AgentError(AgentErrorCode.MOUNT_FAILED, `mount ${args.join(' ')}: ${result.stderr || 'failed'}`);
    }
  }
}

function checkedMountPoint(mountPoint: string): string {
  if (!isAbsolute(mountPoint) || normalize(mountPoint) !== mountPoint || mountPoint === '/') {
    throw invalid(`mount_point must be a normalised absolute path other than /, got "${mountPoint}"`);
  }
  return mountPoint;
}

function requireSource(storage: Storage): void {
  if (!storage.source) throw invalid(`${storage.driver} storage at ${storage.mountPoint} needs a source`);
}

function invalid(message: string): AgentError {
  return new AgentError(AgentErrorCode.INVALID_ARGUMENT, message);
}
