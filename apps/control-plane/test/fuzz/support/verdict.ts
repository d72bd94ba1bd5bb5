import type { Reply } from './client';
import type { Route } from './openapi';

/**
 * What is wrong with an answer, or undefined. A 5xx is wrong unless the route documents that
 * status (a node-backed route answering 503 while no node is connected) and it is not a 500;
 * any other 4xx or 5xx must carry exactly `{ "error": { "code", "message" } }` with a known code.
 */
export function verdict(method: string, route: Route | undefined, reply: Reply, codes: ReadonlySet<string>): string | undefined {
  if (reply.status >= 500 && (reply.status === 500 || !route?.declared.has(reply.status))) {
    return `answered ${reply.status}, which the route does not document`;
  }
  // A HEAD answer has no body to check.
  if (reply.status < 400 || method === 'HEAD') return undefined;
  return errorBodyProblem(reply, codes);
}

function errorBodyProblem(reply: Reply, codes: ReadonlySet<string>): string | undefined {
  if (!reply.contentType.startsWith('application/json')) return `error body is ${reply.contentType || 'untyped'}, not JSON`;
  let body: unknown;
  try {
    body = JSON.parse(reply.text);
  } catch {
    return 'error body is not valid JSON';
  }
  if (!isRecord(body) || !sameKeys(body, ['error'])) return 'error body is not { error }';
  const error = body.error;
  if (!isRecord(error) || !sameKeys(error, ['code', 'message'])) return 'error is not { code, message }';
  if (typeof error.code !== 'string' || !codes.has(error.code)) return `error code ${JSON.stringify(error.code)} is not one the API documents`;
  if (typeof error.message !== 'string' || error.message.trim() === '') return 'error message is empty';
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameKeys(value: Record<string, unknown>, keys: string[]): boolean {
  const own = Object.keys(value).sort();
  return own.length === keys.length && own.every((key, i) => key === [...keys].sort()[i]);
}
