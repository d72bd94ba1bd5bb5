import type { Storage } from '@moat/proto';
import { GUEST_SHARED_DIR, SHARED_FS_MOUNT_TAG, type SharedFs, type SharedFsHandle, type SharedFsStartRequest } from './shared-fs';

/** virtio-9p: QEMU serves the directory itself, so there is nothing to start or stop. */
export class Virtio9pSharedFs implements SharedFs {
  readonly kind = '9p' as const;

  start(req: SharedFsStartRequest): Promise<SharedFsHandle> {
    return Promise.resolve({ kind: this.kind, attachment: { kind: '9p', hostPath: req.sharedDir, mountTag: SHARED_FS_MOUNT_TAG } });
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  reapStray(): Promise<void> {
    return Promise.resolve();
  }

  guestStorage(): Storage {
    return {
      driver: '9p',
      source: SHARED_FS_MOUNT_TAG,
      fstype: '9p',
      // 9p2000.L for POSIX semantics; msize 512 KiB because the 8 KiB default makes every
      // read of a busybox binary dozens of round trips, which hurts most under TCG.
      options: ['trans=virtio', 'version=9p2000.L', 'msize=524288', 'cache=mmap'],
      mountPoint: GUEST_SHARED_DIR,
    };
  }
}
