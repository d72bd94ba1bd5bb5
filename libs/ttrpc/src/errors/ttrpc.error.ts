import { MoatError } from '@moat/proto/errors';
import type { Status } from '../generated/google/rpc/status';

/**
 * The gRPC status codes (google.rpc.Code) ttrpc carries in `Response.status.code`, by name.
 * OK (0) is not an error and has no entry. One table serves both directions, so the names are
 * the error codes and the numbers what travels.
 */
export const GRPC_STATUS_CODES = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A ttrpc error's code: the name of its gRPC status code. */
export type TtrpcErrorCode = keyof typeof GRPC_STATUS_CODES;

const CODE_NAMES = new Map<number, TtrpcErrorCode>(
  Object.entries(GRPC_STATUS_CODES).map(([name, value]) => [value, name as TtrpcErrorCode]),
);

/**
 * A failed ttrpc call, or what a method handler throws to answer with a status. Its `code` is the
 * gRPC status by name (`NOT_FOUND`), `grpcCode` the number on the wire (5). A lost or closed
 * connection is `UNAVAILABLE`, as in grpc-go (ttrpc-go returns its own `ErrClosed` there).
 */
export class TtrpcError extends MoatError<TtrpcErrorCode> {
  /** The numeric gRPC status code, as it travels in `google.rpc.Status.code`. */
  get grpcCode(): number {
    return GRPC_STATUS_CODES[this.code];
  }

  /** The error a non-OK status from the peer stands for; a number gRPC does not define reads as UNKNOWN. */
  static fromStatus(status: Status): TtrpcError {
    const code = CODE_NAMES.get(status.code);
    return new TtrpcError(code ?? 'UNKNOWN', status.message, code === undefined ? { context: { grpcCode: status.code } } : {});
  }
}

/** The OK status ttrpc-go puts in every successful response. */
export const OK_STATUS: Status = { code: 0, message: '', details: [] };

/**
 * The status that answers a request whose handler threw `error`: a TtrpcError's own code, and
 * UNKNOWN with the message for anything else (as ttrpc-go does for an error without a status).
 */
export function statusOf(error: unknown): Status {
  if (error instanceof TtrpcError) return { code: error.grpcCode, message: error.message, details: [] };
  return { code: GRPC_STATUS_CODES.UNKNOWN, message: error instanceof Error ? error.message : String(error), details: [] };
}
