import { ROOTFS_KINDS, type RootfsKind, type Storage } from '@moat/proto';

/** The mount tag both shared-fs kinds expose to the guest. */
export const SHARED_FS_MOUNT_TAG = 'moatfs';
/** Where the guest agent mounts the shared directory. */
export const GUEST_SHARED_DIR = '/run/moat/shared';
/** The guest path of a sandbox's container rootfs (on the shared fs, or where the block rootfs is mounted). */
export const GUEST_ROOTFS_PATH = `${GUEST_SHARED_DIR}/rootfs`;

/**
 * How the container rootfs reaches the guest: a shared directory (virtio-fs, virtio-9p) or an
 * ext4 disk. The same kinds a sandbox's `rootfs` carries over the fleet protocol.
 */
export const SHARED_FS_KINDS = ROOTFS_KINDS;
export type SharedFsKind = RootfsKind;

/** What the VMM needs to attach the shared directory to the guest. */
export type SharedFsAttachment =
  | { kind: '9p'; hostPath: string; mountTag: string }
  | { kind: 'virtiofs'; socketPath: string; mountTag: string }
  | { kind: 'block'; imagePath: string };

/** Host-side state of a started shared fs, persisted so a restarted runtime can stop it. */
export interface SharedFsHandle {
  kind: SharedFsKind;
  /** The daemon serving the share, if the kind needs one (virtiofsd). */
  daemonPid?: number;
  attachment: SharedFsAttachment;
}

export interface SharedFsStartRequest {
  sandboxId: string;
  /** The host directory shared with the guest. */
  sharedDir: string;
  /** The VMM's socket dir (short path: unix socket paths are limited to 108 bytes). */
  socketDir: string;
  /** The jailed VMM's uid: a socket it connects to must be its own. Absent: unjailed. */
  vmmUid?: number;
  /** Puts a helper daemon into the sandbox's host cgroup. */
  enterCgroup: (pid: number) => Promise<void>;
  /** A directory for daemon logs. */
  logDir: string;
  /** The container rootfs tree (inside `sharedDir`). */
  rootfsDir: string;
  /** Where a disk image of the rootfs may be written. */
  diskDir: string;
}

/** One way of giving the guest the container rootfs (Kata's `ShareFs`, plus the block rootfs). */
export interface SharedFs {
  readonly kind: SharedFsKind;
  start(req: SharedFsStartRequest): Promise<SharedFsHandle>;
  /** Idempotent: stops the daemon if any and it is still ours. */
  stop(handle: SharedFsHandle, sandboxId: string): Promise<void>;
  /**
   * Stops what a start left that no handle records: its starter died between starting a
   * daemon and saving the handle. Found by what its argv names (the sandbox's socket dir).
   */
  reapStray(socketDir: string): Promise<void>;
  /** The storage the guest agent mounts so that the rootfs appears at GUEST_ROOTFS_PATH. */
  guestStorage(): Storage;
}
