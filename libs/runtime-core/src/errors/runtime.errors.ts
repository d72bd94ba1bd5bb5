import { MoatError } from '@moat/proto';

export { MoatError };

/** Why a runtime operation failed; stable strings that travel to the control plane and UI. */
export enum RuntimeErrorCode {
  SANDBOX_NOT_FOUND = 'SANDBOX_NOT_FOUND',
  SANDBOX_NOT_RUNNING = 'SANDBOX_NOT_RUNNING',
  /** The container's init cannot do that now: a start of a started one, a wait for one not started. */
  CONTAINER_WRONG_STATE = 'CONTAINER_WRONG_STATE',
  INVALID_SPEC = 'INVALID_SPEC',
  /** A pod's VM holds no container of that id. */
  CONTAINER_NOT_FOUND = 'CONTAINER_NOT_FOUND',
  /** A pod's VM holds a container of that id already. */
  CONTAINER_EXISTS = 'CONTAINER_EXISTS',
  ROOTFS_FAILED = 'ROOTFS_FAILED',
  SHAREFS_FAILED = 'SHAREFS_FAILED',
  /** The sandbox's jail or host cgroup could not be set up. */
  JAIL_FAILED = 'JAIL_FAILED',
  VMM_START_FAILED = 'VMM_START_FAILED',
  /** A boot snapshot could not be saved or restored; the runtime boots the VM cold instead. */
  SNAPSHOT_FAILED = 'SNAPSHOT_FAILED',
  /** This sandbox's VM cannot be saved (hibernated): its rootfs kind, a pod's VM, or a vsock transport. */
  HIBERNATE_UNSUPPORTED = 'HIBERNATE_UNSUPPORTED',
  /** Saving or restoring a hibernated VM failed (a failed save leaves it running). */
  HIBERNATE_FAILED = 'HIBERNATE_FAILED',
  /** A live migration failed: the VM runs on where it was (see Hypervisor.migrateOut). */
  MIGRATION_FAILED = 'MIGRATION_FAILED',
  /** A clone could not be forked: its source is not running here, cannot be saved, or the capture failed. */
  FORK_FAILED = 'FORK_FAILED',
  VM_BOOT_FAILED = 'VM_BOOT_FAILED',
  /** A start was abandoned because the node agent is stopping. */
  START_CANCELLED = 'START_CANCELLED',
  /** The guest agent of a running sandbox stopped answering its health checks. */
  GUEST_UNRESPONSIVE = 'GUEST_UNRESPONSIVE',
  /** The guest agent of a running sandbox died and its VM's init started it again: what it ran (the containers) is lost. */
  GUEST_AGENT_RESTARTED = 'GUEST_AGENT_RESTARTED',
  /** The VMM of a running sandbox exited. */
  VMM_EXITED = 'VMM_EXITED',
  /** The VMM of a running sandbox was killed by the kernel's OOM killer for outgrowing its host cgroup. */
  VMM_OUT_OF_MEMORY = 'VMM_OUT_OF_MEMORY',
  AGENT_UNREACHABLE = 'AGENT_UNREACHABLE',
  AGENT_CALL_FAILED = 'AGENT_CALL_FAILED',
  AGENT_PROTOCOL_VIOLATION = 'AGENT_PROTOCOL_VIOLATION',
  EXEC_OUTPUT_LIMIT_EXCEEDED = 'EXEC_OUTPUT_LIMIT_EXCEEDED',
  QMP_FAILED = 'QMP_FAILED',
  PROCESS_FAILED = 'PROCESS_FAILED',
  STATE_CORRUPT = 'STATE_CORRUPT',
  HOST_UNSUPPORTED = 'HOST_UNSUPPORTED',
  NETWORK_FAILED = 'NETWORK_FAILED',
  /** The image reference cannot be parsed. */
  IMAGE_REFERENCE_INVALID = 'IMAGE_REFERENCE_INVALID',
  /** The registry refused, was unreachable, or sent something that is not a usable image. */
  IMAGE_PULL_FAILED = 'IMAGE_PULL_FAILED',
  /** Downloaded content does not match the digest (or size) the manifest promised. */
  IMAGE_DIGEST_MISMATCH = 'IMAGE_DIGEST_MISMATCH',
  /** A layer tries to write outside its directory, holds device nodes or is absurdly large. */
  IMAGE_LAYER_UNSAFE = 'IMAGE_LAYER_UNSAFE',
  /** Files in a sandbox (the guest agent's answer about a container path). */
  FILE_NOT_FOUND = 'FILE_NOT_FOUND',
  FILE_PATH_INVALID = 'FILE_PATH_INVALID',
  FILE_NO_SPACE = 'FILE_NO_SPACE',
  FILE_NOT_WRITABLE = 'FILE_NOT_WRITABLE',
  /** Too many transfers in flight into one sandbox, or on one node. */
  FILE_TRANSFERS_EXHAUSTED = 'FILE_TRANSFERS_EXHAUSTED',
  /** The transfer is unknown: finished, or closed after being idle too long. */
  FILE_TRANSFER_GONE = 'FILE_TRANSFER_GONE',
}

/** An error raised by `@moat/runtime-core`. */
export class RuntimeError extends MoatError<RuntimeErrorCode> {}

/** Appends the cause's message so one line in a log or API response says the whole story. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${describeError(error.cause)}` : '';
  return error.message.endsWith(cause) ? error.message : `${error.message}${cause}`;
}
