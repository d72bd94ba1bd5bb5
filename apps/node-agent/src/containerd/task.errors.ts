import { status } from '@grpc/grpc-js';
import { MoatError } from '@moat/proto';
import { RuntimeErrorCode } from '@moat/runtime-core';

/** The gRPC statuses a task call fails with (node-tasks.proto); the shim passes them on to containerd. */
export type TaskErrorCode = 'NOT_FOUND' | 'ALREADY_EXISTS' | 'FAILED_PRECONDITION' | 'INVALID_ARGUMENT' | 'UNAVAILABLE' | 'UNIMPLEMENTED' | 'INTERNAL' | 'UNKNOWN';

export class TaskError extends MoatError<TaskErrorCode> {
  /** The status as gRPC numbers it. */
  get grpcStatus(): status {
    return status[this.code];
  }
}

const CODE_OF: Partial<Record<string, TaskErrorCode>> = {
  [RuntimeErrorCode.SANDBOX_NOT_FOUND]: 'NOT_FOUND',
  [RuntimeErrorCode.SANDBOX_NOT_RUNNING]: 'FAILED_PRECONDITION',
  [RuntimeErrorCode.CONTAINER_WRONG_STATE]: 'FAILED_PRECONDITION',
  [RuntimeErrorCode.INVALID_SPEC]: 'INVALID_ARGUMENT',
  [RuntimeErrorCode.CONTAINER_NOT_FOUND]: 'NOT_FOUND',
  [RuntimeErrorCode.CONTAINER_EXISTS]: 'ALREADY_EXISTS',
};

/** Any failure as a task error: a runtime error's code picks the status and leads its message. */
export function taskError(error: unknown): TaskError {
  if (error instanceof TaskError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code !== 'string') return new TaskError('INTERNAL', message, { cause: error });
  return new TaskError(CODE_OF[code] ?? 'UNKNOWN', `${code}: ${message}`, { cause: error });
}
