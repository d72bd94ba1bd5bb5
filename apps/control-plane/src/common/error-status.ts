import { ErrorCode } from './api.error';

/** The HTTP status for each API error code. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.VALIDATION_FAILED:
    case ErrorCode.MALFORMED_JSON:
    case ErrorCode.FILE_PATH_INVALID:
      return 400;
    case ErrorCode.UNAUTHENTICATED:
      return 401;
    case ErrorCode.FORBIDDEN:
    case ErrorCode.QUOTA_EXCEEDED:
    case ErrorCode.TENANT_SUSPENDED:
      return 403;
    case ErrorCode.NOT_FOUND:
    case ErrorCode.FILE_NOT_FOUND:
    case ErrorCode.NODE_NOT_FOUND:
      return 404;
    case ErrorCode.CONFLICT:
    case ErrorCode.SANDBOX_NOT_RUNNING:
    case ErrorCode.INVALID_STATE:
    case ErrorCode.MANAGED_BY_CONTAINERD:
    case ErrorCode.HIBERNATE_UNSUPPORTED:
    case ErrorCode.FORK_UNSUPPORTED:
    case ErrorCode.MIGRATION_UNSUPPORTED:
    case ErrorCode.INSUFFICIENT_RESOURCES: // its sandboxes hold the node: deleting some helps
    case ErrorCode.SAVED_STATE_UNREACHABLE: // its node is down: waking it once that node is back helps
    case ErrorCode.TENANT_NETWORK_FULL: // the tenant's own sandboxes hold every address: deleting one helps
    case ErrorCode.FILE_NOT_WRITABLE:
      return 409;
    case ErrorCode.REQUEST_TIMEOUT:
      return 408;
    case ErrorCode.PAYLOAD_TOO_LARGE:
    case ErrorCode.FILE_TOO_LARGE:
      return 413;
    case ErrorCode.UNSUPPORTED_MEDIA_TYPE:
      return 415;
    case ErrorCode.TOO_MANY_TRANSFERS:
      return 429;
    case ErrorCode.HEADERS_TOO_LARGE:
      return 431;
    case ErrorCode.EXEC_FAILED:
    case ErrorCode.WAKE_FAILED:
      return 502;
    case ErrorCode.NODE_UNAVAILABLE:
    case ErrorCode.NETWORK_POOL_EXHAUSTED: // the fleet is short of subnets: only the operator can widen the pool
      return 503;
    case ErrorCode.EXEC_TIMEOUT:
    case ErrorCode.WAKE_TIMEOUT:
      return 504;
    case ErrorCode.FILE_NO_SPACE:
      return 507;
    case ErrorCode.INTERNAL:
      return 500;
  }
}

/**
 * The code for an HTTP status raised outside our own code (Nest's router, the body parser,
 * Node's HTTP parser).
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
    case 408:
      return ErrorCode.REQUEST_TIMEOUT;
    case 409:
      return ErrorCode.CONFLICT;
    case 413:
      return ErrorCode.PAYLOAD_TOO_LARGE;
    case 415:
      return ErrorCode.UNSUPPORTED_MEDIA_TYPE;
    case 431:
      return ErrorCode.HEADERS_TOO_LARGE;
    default:
      return ErrorCode.INTERNAL;
  }
}
