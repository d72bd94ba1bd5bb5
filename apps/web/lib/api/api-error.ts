import type { ApiErrorBody } from '../types';

/** A failed API call, carrying the control plane's error code and human message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }

  get notFound(): boolean {
    return this.status === 404;
  }
}

function isErrorBody(body: unknown): body is ApiErrorBody {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const { error } = body;
  return typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string';
}

/**
 * Turns a non-2xx response body into an ApiError. Proxies and crashed servers answer with
 * HTML or nothing, so anything that is not the API's error shape gets a generic message.
 */
export function toApiError(status: number, statusText: string, body: unknown): ApiError {
  if (isErrorBody(body)) return new ApiError(status, body.error.code, body.error.message);
  const reason = statusText ? `${status} ${statusText}` : String(status);
  return new ApiError(status, 'HTTP_ERROR', `The API answered ${reason}.`);
}

/** The message to show a person for any error thrown while talking to the API. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  // fetch rejects with a TypeError when the API cannot be reached at all (down, CORS, DNS).
  if (error instanceof TypeError) return 'Cannot reach the Moat API. Check that the control plane is running.';
  return error instanceof Error ? error.message : String(error);
}
