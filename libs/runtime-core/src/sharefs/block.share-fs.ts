import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Storage } from '@moat/proto';
import { RuntimeError, RuntimeErrorCode, describeError } from '../errors/runtime.errors';
import { removeTree } from '../host/fs.helpers';
import type { ProcessAdapter } from '../host/process.adapter';
import { GUEST_ROOTFS_PATH, type SharedFs, type SharedFsHandle, type SharedFsStartRequest } from './shared-fs';

/** The guest sees this disk, its only virtio-blk one (the guest image's rootfs is pmem), as /dev/vda. */
export const BLOCK_ROOTFS_GUEST_DEVICE = '/dev/vda';
/** The sandbox's disk image, in its dir. */
export const BLOCK_IMAGE_FILE = 'rootfs.ext4';
/** Free space the container gets on its disk; the file is sparse, so unused space costs nothing. */
const FREE_BYTES = 1024 ** 3;
/** ext4 metadata per file (inode, directory entry, partial block) in the size estimate. */
const PER_ENTRY_BYTES = 4096;

/**
 * The container rootfs as a block device (Kata's block rootfs; the only kind Firecracker can
 * use): the sandbox's tree is copied into a sparse per-sandbox ext4 image with
 * `mkfs.ext4 -d`, attached as a writable virtio-blk disk and mounted by the guest agent.
 */
export class BlockRootfs implements SharedFs {
  readonly kind = 'block' as const;

  constructor(private readonly proc: ProcessAdapter) {}

  async start(req: SharedFsStartRequest): Promise<SharedFsHandle> {
    const imagePath = join(req.diskDir, BLOCK_IMAGE_FILE);
    try {
      const size = Math.ceil(((await treeBytes(req.rootfsDir)) * 1.1 + FREE_BYTES) / 4096) * 4096;
      const handle = await open(imagePath, 'w', 0o600);
      await handle.truncate(size);
      await handle.close();
      // No journal: the disk lives and dies with the sandbox, so crash recovery buys nothing.
      await this.proc.run('mkfs.ext4', ['-q', '-F', '-O', '^has_journal', '-m', '0', '-L', 'moat-rootfs', '-d', req.rootfsDir, imagePath]);
    } catch (cause) {
      await removeTree(imagePath);
      throw new RuntimeError(RuntimeErrorCode.SHAREFS_FAILED, `build block rootfs ${imagePath}: ${describeError(cause)}`, {
        cause,
        context: { sandboxId: req.sandboxId },
      });
    }
    return { kind: this.kind, attachment: { kind: 'block', imagePath } };
  }

  async stop(handle: SharedFsHandle): Promise<void> {
    if (handle.attachment.kind === 'block') await removeTree(handle.attachment.imagePath);
  }

  /** No daemon; an unrecorded disk image lies in the sandbox's dir, which goes with the sandbox. */
  reapStray(): Promise<void> {
    return Promise.resolve();
  }

  guestStorage(): Storage {
    return { driver: 'blk', source: BLOCK_ROOTFS_GUEST_DEVICE, fstype: 'ext4', options: [], mountPoint: GUEST_ROOTFS_PATH };
  }
}

/** Apparent size of a tree plus per-entry overhead, without following symlinks. */
async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += PER_ENTRY_BYTES;
    if (entry.isDirectory()) total += await treeBytes(path);
    else if (entry.isFile()) total += (await lstat(path)).size;
  }
  return total;
}
