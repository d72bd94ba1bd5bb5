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
}

/** An error raised by the guest agent. */
export class AgentError extends MoatError<AgentErrorCode> {}
