import { MoatError } from '@moat/proto/errors';

/** What went wrong in the shim itself; failures of the node agent's calls keep their gRPC codes (TtrpcError). */
export enum ShimErrorCode {
  /** The command line or the environment containerd gave the shim does not make sense. */
  INVALID_CONFIG = 'INVALID_CONFIG',
  /** The shim's socket path would not fit in a unix socket address. */
  SOCKET_PATH_TOO_LONG = 'SOCKET_PATH_TOO_LONG',
  /** `start` could not get a daemon to serve the shim's socket. */
  DAEMON_START_FAILED = 'DAEMON_START_FAILED',
  MOUNT_FAILED = 'MOUNT_FAILED',
  UNMOUNT_FAILED = 'UNMOUNT_FAILED',
}

/** An error raised by the shim. */
export class ShimError extends MoatError<ShimErrorCode> {}
