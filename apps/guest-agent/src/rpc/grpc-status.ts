import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { AgentError, AgentErrorCode } from '../errors/agent.error';

export function grpcStatusOf(code: AgentErrorCode): status {
  switch (code) {
    case AgentErrorCode.INVALID_ARGUMENT:
    case AgentErrorCode.INVALID_SPEC:
    case AgentErrorCode.FILE_PATH_INVALID:
      return status.INVALID_ARGUMENT;
    case AgentErrorCode.CONTAINER_NOT_FOUND:
    case AgentErrorCode.PROCESS_NOT_FOUND:
    case AgentErrorCode.FILE_NOT_FOUND:
      return status.NOT_FOUND;
    case AgentErrorCode.FILE_NOT_WRITABLE:
      return status.PERMISSION_DENIED;
    case AgentErrorCode.FILE_NO_SPACE:
    case AgentErrorCode.FILE_HANDLES_EXHAUSTED:
      return status.RESOURCE_EXHAUSTED;
    case AgentErrorCode.CONTAINER_EXISTS:
    case AgentErrorCode.PROCESS_EXISTS:
    case AgentErrorCode.SANDBOX_EXISTS:
      return status.ALREADY_EXISTS;
    case AgentErrorCode.WRONG_STATE:
      return status.FAILED_PRECONDITION;
    case AgentErrorCode.CRUN_FAILED:
    case AgentErrorCode.MOUNT_FAILED:
    case AgentErrorCode.GUEST_SETUP_FAILED:
    case AgentErrorCode.TRANSPORT_FAILED:
    case AgentErrorCode.CONFIG_INVALID:
    case AgentErrorCode.FILE_IO_FAILED:
      return status.INTERNAL;
    case AgentErrorCode.NOT_YET:
      return status.DEADLINE_EXCEEDED;
  }
}

/** Any error as a gRPC status; errors that are not AgentErrors are bugs and become INTERNAL. */
export function toServiceError(error: unknown): Partial<ServiceError> {
  const metadata = new Metadata();
  if (error instanceof AgentError) {
    metadata.set('moat-error-code', error.code);
    return { code: grpcStatusOf(error.code), details: error.message, metadata };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: status.INTERNAL, details: `internal error: ${message}`, metadata };
}
