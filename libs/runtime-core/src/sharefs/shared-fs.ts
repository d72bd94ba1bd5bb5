import type { Storage } from '@moat/proto';

/** The mount tag both shared-fs kinds expose to the guest. */
export const SHARED_FS_MOUNT_TAG = 'moatfs';
/** Where the guest agent mounts the shared directory. */
export const GUEST_SHARED_DIR = '/run/moat/shared';

export type SharedFsKind = '9p' | 'virtiofs';

/** What the VMM needs to attach the shared directory to the guest. */
export type SharedFsAttachment =
  | { kind: '9p'; hostPath: string; mountTag: string }
  | { kind: 'virtiofs'; socketPath: string; mountTag: string };

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
  /** A directory for sockets (short path: unix socket paths are limited to 108 bytes). */
  runDir: string;
  /** A directory for daemon logs. */
  logDir: string;
}

/** One way of sharing a host directory with the guest (Kata's `ShareFs`). */
export interface SharedFs {
  readonly kind: SharedFsKind;
  start(req: SharedFsStartRequest): Promise<SharedFsHandle>;
  /** Idempotent: stops the daemon if any and it is still ours. */
  stop(handle: SharedFsHandle, sandboxId: string): Promise<void>;
  /** The storage the guest agent mounts at GUEST_SHARED_DIR. */
  guestStorage(): Storage;
}
