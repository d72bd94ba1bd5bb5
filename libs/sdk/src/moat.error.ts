import type { ErrorCode } from './api.types';

/** What the SDK itself refuses or gives up on, as opposed to an answer of the API. */
export type MoatClientErrorCode = 'WAIT_TIMEOUT' | 'SANDBOX_FAILED' | 'LOGS_INTERRUPTED';

/** Every error the SDK throws: a stable `code` to branch on and a message for people. */
export class MoatError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The API answered with an error status. `code` is the API's `{"error":{"code"}}` (see
 * docs/api.md), or `HTTP_ERROR` when something in between (a proxy, a crashed server) answered
 * without the API's error body.
 */
export class MoatApiError extends MoatError {
  declare readonly code: ErrorCode | 'HTTP_ERROR';

  constructor(
    readonly status: number,
    code: ErrorCode | 'HTTP_ERROR',
    message: string,
  ) {
    super(code, message);
  }

  /** The error for a non-2xx answer with `body` (parsed JSON when it was JSON). */
  static fromResponse(status: number, statusText: string, body: unknown): MoatApiError {
    if (isErrorBody(body)) return new MoatApiError(status, body.error.code, body.error.message);
    const reason = statusText ? `${status} ${statusText}` : String(status);
    return new MoatApiError(status, 'HTTP_ERROR', `The API answered ${reason}.`);
  }
}

/** The SDK gave up on its own: a wait ran out of time, the sandbox failed while waited for, followed logs broke off. */
export class MoatClientError extends MoatError {
  declare readonly code: MoatClientErrorCode;

  constructor(code: MoatClientErrorCode, message: string) {
    super(code, message);
  }
}

/** Why an attach session ended without an exit status, on the client's side. */
export type AttachClientErrorCode =
  /** The connection to `/attach` could not be made (`UNAUTHENTICATED` when the token was refused). */
  | 'CONNECT_FAILED'
  /** The connection dropped during the session. */
  | 'CONNECTION_LOST'
  /** The control plane did not answer a request in time. */
  | 'NO_REPLY'
  /** The session is over: this client closed it (`close()`), or a write came after the exit. */
  | 'CLOSED';

/**
 * An attach session failed or was refused. `code` is the server's when it said why
 * (`attach:error`, a refused `attach:start` or `attach:input`: the API's codes, such as
 * `SANDBOX_NOT_RUNNING`, or the node's, such as `EXEC_FAILED`), else an AttachClientErrorCode.
 */
export class MoatAttachError extends MoatError {
  declare readonly code: ErrorCode | AttachClientErrorCode | (string & {});
}

function isErrorBody(body: unknown): body is { error: { code: ErrorCode; message: string } } {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const { error } = body;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}
