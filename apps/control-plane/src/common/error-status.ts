import { ErrorCode } from './api.error';

/** The HTTP status for each API error code. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.VALIDATION_FAILED:
    case ErrorCode.MALFORMED_JSON:
      return 400;
    case ErrorCode.UNAUTHENTICATED:
      return 401;
    case ErrorCode.FORBIDDEN:
    case ErrorCode.QUOTA_EXCEEDED:
    case ErrorCode.TENANT_SUSPENDED:
      return 403;
    case ErrorCode.NOT_FOUND:
      return 404;
    case ErrorCode.CONFLICT:
    case ErrorCode.SANDBOX_NOT_RUNNING:
    case ErrorCode.INVALID_STATE:
      return 409;
    case ErrorCode.PAYLOAD_TOO_LARGE:
      return 413;
    case ErrorCode.EXEC_FAILED:
      return 502;
    case ErrorCode.NODE_UNAVAILABLE:
      return 503;
    case ErrorCode.EXEC_TIMEOUT:
      return 504;
    case ErrorCode.INTERNAL:
      return 500;
  }
}

/**
 * The code for an HTTP status raised outside our own code (Nest's router, body parser).
 */
export function errorCodeForHttpStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return ErrorCode.VALIDATION_FAILED;
    case 401:
      return ErrorCode.UNAUTHENTICATED;
    case 403:
      return ErrorCode.FORBIDDEN;
    case 404:
    case 405:
      return ErrorCode.NOT_FOUND;
    case 409:
      return ErrorCode.CONFLICT;
    case 413:
      return ErrorCode.PAYLOAD_TOO_LARGE;
    default:
      return ErrorCode.INTERNAL;
  }
}
