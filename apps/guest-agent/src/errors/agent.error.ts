import { MoatError } from '@moat/proto';

/** What went wrong, independent of the transport; rpc/grpc-status.ts maps each code to a gRPC status. */
export enum AgentErrorCode {
  INVALID_ARGUMENT = 'INVALID_ARGUMENT',
  INVALID_SPEC = 'INVALID_SPEC',
  CONTAINER_NOT_FOUND = 'CONTAINER_NOT_FOUND',
  PROCESS_NOT_FOUND = 'PROCESS_NOT_FOUND',
  CONTAINER_EXISTS = 'CONTAINER_EXISTS',
  PROCESS_EXISTS = 'PROCESS_EXISTS',
  SANDBOX_EXISTS = 'SANDBOX_EXISTS',
  WRONG_STATE = 'WRONG_STATE',
  CRUN_FAILED = 'CRUN_FAILED',
  MOUNT_FAILED = 'MOUNT_FAILED',
  GUEST_SETUP_FAILED = 'GUEST_SETUP_FAILED',
  TRANSPORT_FAILED = 'TRANSPORT_FAILED',
  CONFIG_INVALID = 'CONFIG_INVALID',
  /** A long-poll answered just before the host's deadline: nothing yet, nothing consumed, ask again. */
  NOT_YET = 'NOT_YET',
  /** A container path that names nothing. */
  FILE_NOT_FOUND = 'FILE_NOT_FOUND',
  /** A container path that is malformed, leads out of the container's files or names the wrong kind of file. */
  FILE_PATH_INVALID = 'FILE_PATH_INVALID',
  /** The container's filesystem is full. */
  FILE_NO_SPACE = 'FILE_NO_SPACE',
  /** The path is on a read-only filesystem or otherwise cannot be changed. */
  FILE_NOT_WRITABLE = 'FILE_NOT_WRITABLE',
  /** Every file handle the agent keeps is in use. */
  FILE_HANDLES_EXHAUSTED = 'FILE_HANDLES_EXHAUSTED',
  FILE_IO_FAILED = 'FILE_IO_FAILED',
}

/** An error raised by the guest agent. */
export class AgentError extends MoatError<AgentErrorCode> {}
