import type { handleUnaryCall } from '@grpc/grpc-js';
import type { Logger } from '../log/logger';
import { toServiceError } from './grpc-status';

/**
 * Adapts an async function to a grpc-js unary handler. Whatever it throws, synchronously or
 * not, becomes a gRPC status and one log line: a bad request never takes the daemon down.
 */
export function unary<Request, Response>(
  method: string,
  log: Logger,
  handle: (request: Request) => Promise<Response> | Response,
): handleUnaryCall<Request, Response> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => handle(call.request))
      .then(
        (response) => callback(null, response),
        (error: unknown) => {
          const serviceError = toServiceError(error);
          log.error('rpc failed', { method, status: serviceError.code, error });
          callback(serviceError);
        },
      );
  };
}
