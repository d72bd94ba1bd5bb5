import type { handleUnaryCall } from '@grpc/grpc-js';
import type { Empty } from '@moat/proto';
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

/** A unary call that answers nothing but that it is done (`Empty`). */
export function unaryDone<Request>(method: string, log: Logger, handle: (request: Request) => Promise<void> | void): handleUnaryCall<Request, Empty> {
  return unary(method, log, async (request: Request) => {
    await handle(request);
    return {};
  });
}

/** How long before the host's deadline a long-poll gives up, so its answer still arrives in time. */
const LONG_POLL_MARGIN_MS = 1_000;

/**
 * A long-poll (ReadStdout, WaitProcess): `handle` gets a signal that aborts when the host
 * cancels the call or shortly before its deadline, and must then return without consuming
 * anything. The host sees DEADLINE_EXCEEDED and asks again, so no output is ever handed to a
 * call nobody is waiting for any more.
 */
export function longPoll<Request, Response>(
  method: string,
  log: Logger,
  handle: (request: Request, signal: AbortSignal) => Promise<Response>,
): handleUnaryCall<Request, Response> {
  return (call, callback) => {
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort());
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
    const timer = Number.isFinite(deadlineMs)
      ? setTimeout(() => abort.abort(), Math.max(0, deadlineMs - Date.now() - LONG_POLL_MARGIN_MS))
      : undefined;
    handle(call.request, abort.signal)
      .then(
        (response) => callback(null, response),
        (error: unknown) => {
          const serviceError = toServiceError(error);
          if (!abort.signal.aborted) log.error('rpc failed', { method, status: serviceError.code, error });
          callback(serviceError);
        },
      )
      .finally(() => clearTimeout(timer));
  };
}
