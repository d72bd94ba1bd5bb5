import { MoatError } from '@moat/proto';

/**
 * Error codes of the public API. They are one enum, not one per module, because together
 * they form a single contract that clients switch on and the OpenAPI document lists.
 */
export enum ErrorCode {
  VALIDATION_FAILED = 'VALIDATION_FAILED',
  MALFORMED_JSON = 'MALFORMED_JSON',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  QUOTA_EXCEEDED = 'QUOTA_EXCEEDED',
  TENANT_SUSPENDED = 'TENANT_SUSPENDED',
  /** The tenant's subnet has no free address left: its own sandboxes hold them all. */
  TENANT_NETWORK_FULL = 'TENANT_NETWORK_FULL',
  /** MOAT_NET_SUBNET_POOL has no free subnet for a new tenant network: the operator must widen it. */
  NETWORK_POOL_EXHAUSTED = 'NETWORK_POOL_EXHAUSTED',
  NOT_FOUND = 'NOT_FOUND',
  CONFLICT = 'CONFLICT',
  SANDBOX_NOT_RUNNING = 'SANDBOX_NOT_RUNNING',
  INVALID_STATE = 'INVALID_STATE',
  /** The sandbox cannot be hibernated: only one created with `rootfs: "block"` can (QEMU saves no shared filesystem). */
  HIBERNATE_UNSUPPORTED = 'HIBERNATE_UNSUPPORTED',
  /** The sandbox cannot be forked: only one created with `rootfs: "block"` can (its clones start from its saved VM, as a wake does). */
  FORK_UNSUPPORTED = 'FORK_UNSUPPORTED',
  /** The sandbox cannot be live-migrated: only one created with `rootfs: "block"` can (its writable disk travels in QEMU's migration stream). */
  MIGRATION_UNSUPPORTED = 'MIGRATION_UNSUPPORTED',
  /** A node named in the request (a migration's target) does not exist. */
  NODE_NOT_FOUND = 'NODE_NOT_FOUND',
  /** No node that can take what is asked has the vCPUs or memory free (a fork's clones on their source's node; a woken sandbox on its own or any other). */
  INSUFFICIENT_RESOURCES = 'INSUFFICIENT_RESOURCES',
  /** A hibernated sandbox cannot wake: its saved state is on a node that is down (it can once that node is back). */
  SAVED_STATE_UNREACHABLE = 'SAVED_STATE_UNREACHABLE',
  /** The sandbox was started through containerd on its node: only containerd may change or delete it. */
  MANAGED_BY_CONTAINERD = 'MANAGED_BY_CONTAINERD',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE = 'UNSUPPORTED_MEDIA_TYPE',
  HEADERS_TOO_LARGE = 'HEADERS_TOO_LARGE',
  REQUEST_TIMEOUT = 'REQUEST_TIMEOUT',
  /** A container path names nothing (`/v1/sandboxes/:id/files`). */
  FILE_NOT_FOUND = 'FILE_NOT_FOUND',
  /** A container path that is malformed, leads out of the container's files or names the wrong kind of file. */
  FILE_PATH_INVALID = 'FILE_PATH_INVALID',
  /** An upload larger than MOAT_FILES_MAX_BYTES. */
  FILE_TOO_LARGE = 'FILE_TOO_LARGE',
  /** The path cannot be written (a read-only filesystem). */
  FILE_NOT_WRITABLE = 'FILE_NOT_WRITABLE',
  /** The sandbox's filesystem is full. */
  FILE_NO_SPACE = 'FILE_NO_SPACE',
  /** Too many file transfers in flight into the sandbox or its node; retry later. */
  TOO_MANY_TRANSFERS = 'TOO_MANY_TRANSFERS',
  EXEC_FAILED = 'EXEC_FAILED',
  NODE_UNAVAILABLE = 'NODE_UNAVAILABLE',
  EXEC_TIMEOUT = 'EXEC_TIMEOUT',
  /** An exec, attach or file request woke the hibernated sandbox, and the wake failed (the sandbox failed). */
  WAKE_FAILED = 'WAKE_FAILED',
  /** An exec, attach or file request woke the hibernated sandbox, and it was not running in time (WAKE_ON_USE_TIMEOUT_MS). */
  WAKE_TIMEOUT = 'WAKE_TIMEOUT',
  INTERNAL = 'INTERNAL',
}

/** An error the control plane raises on purpose; the exception filter maps its `code` to HTTP. */
export class ApiError extends MoatError<ErrorCode> {}
