import { TaskDefinition } from '@moat/containerd-api';
import { TtrpcError, type RequestContext, type TtrpcErrorCode, type TtrpcServer, type UnaryMethod } from '@moat/ttrpc';
import { ShimError, ShimErrorCode } from '../errors/shim.error';
import type { Logger } from '../log/logger';

type Methods = (typeof TaskDefinition)['methods'];
/** The name of a Task method as TaskDefinition keys it (`create`, `resizePty`). */
export type TaskMethod = keyof Methods;
/** The request message of a Task method. */
export type TaskRequest<K extends TaskMethod> = ReturnType<Methods[K]['requestType']['decode']>;
/** The response message of a Task method. */
export type TaskResponse<K extends TaskMethod> = Parameters<Methods[K]['responseType']['encode']>[0];

/** containerd's `containerd.task.v2.Task` (runtime/v2/task/shim.proto) as typed handlers, one per method. */
export type TaskHandlers = {
  [K in TaskMethod]: (request: TaskRequest<K>, context: RequestContext) => Promise<TaskResponse<K>>;
};

/** The status containerd gets for a handler's error: a TtrpcError's own, a ShimError's by its code, else UNKNOWN. */
export function statusErrorOf(error: unknown): TtrpcError {
  if (error instanceof TtrpcError) return error;
  if (error instanceof ShimError) return new TtrpcError(statusCodeOf(error.code), error.message, { cause: error });
  return new TtrpcError('UNKNOWN', error instanceof Error ? error.message : String(error), { cause: error });
}

function statusCodeOf(code: ShimErrorCode): TtrpcErrorCode {
  switch (code) {
    case ShimErrorCode.INVALID_CONFIG:
    case ShimErrorCode.SOCKET_PATH_TOO_LONG:
      return 'INVALID_ARGUMENT';
    case ShimErrorCode.DAEMON_START_FAILED:
      return 'UNAVAILABLE';
    case ShimErrorCode.MOUNT_FAILED:
    case ShimErrorCode.UNMOUNT_FAILED:
      return 'INTERNAL';
  }
}

interface ErasedMethod {
  name: string;
  requestType: { decode(input: Uint8Array): unknown };
  responseType: { encode(message: never): { finish(): Uint8Array } };
}

/**
 * The ttrpc methods of the Task service: each decodes its request with TaskDefinition's message
 * type (INVALID_ARGUMENT when it cannot), runs its handler and encodes the answer; a failure
 * answers with its status (`statusErrorOf`) and is logged.
 */
export function taskServiceMethods(handlers: TaskHandlers, log: Logger): Record<string, UnaryMethod> {
  const methods: Record<string, UnaryMethod> = {};
  for (const key of Object.keys(TaskDefinition.methods) as TaskMethod[]) {
    // TypeScript cannot relate TaskDefinition.methods[key] to handlers[key] for a key of the union.
    const definition = TaskDefinition.methods[key] as ErasedMethod;
    const handle = (request: unknown, context: RequestContext) => (handlers[key] as (request: unknown, context: RequestContext) => Promise<never>)(request, context);
    methods[definition.name] = async (payload, context) => {
      let request: unknown;
      try {
        request = definition.requestType.decode(payload);
      } catch (cause) {
        log.warn('undecodable request', { method: definition.name, error: cause });
        throw new TtrpcError('INVALID_ARGUMENT', `${definition.name}: cannot decode the request: ${(cause as Error).message}`);
      }
      try {
        return definition.responseType.encode(await handle(request, context)).finish();
      } catch (error) {
        const status = statusErrorOf(error);
        // containerd asks after tasks and processes that are gone as a matter of course.
        const level = status.code === 'NOT_FOUND' || status.code === 'CANCELLED' ? 'debug' : 'warn';
        log[level]('task call failed', { method: definition.name, code: status.code, error: status.message });
        throw status;
      }
    };
  }
  return methods;
}

/** Registers the Task service on `server`. */
export function registerTaskService(server: TtrpcServer, handlers: TaskHandlers, log: Logger): void {
  server.register(TaskDefinition.fullName, taskServiceMethods(handlers, log));
}
