import type { Mount } from '@moat/containerd-api';

/** Mounts a task's rootfs on the host (containerd's Mount list: usually one overlay or bind mount). */
export interface Mounter {
  /**
   * Mounts each of `mounts` on `target`, in order (later ones on top, as containerd stacks them);
   * when one fails, unmounts those it mounted and throws MOUNT_FAILED.
   */
  mount(mounts: readonly Mount[], target: string): Promise<void>;
  /** Unmounts everything mounted on `target`, top first; nothing mounted is fine. Throws UNMOUNT_FAILED. */
  unmountAll(target: string): Promise<void>;
}
