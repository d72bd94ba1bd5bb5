import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, ErrorCode } from './api.error';
import { findInJson } from './json-walk';

/** No request of the API nests anywhere near this deep; the deepest DTO has 4 levels. */
export const MAX_JSON_DEPTH = 64;

/**
 * Keys that name the prototype machinery. `JSON.parse` makes `__proto__` an own property,
 * which class-transformer then assigns to the DTO (replacing its prototype instead of adding
 * a field), so the unknown-field check never sees it.
 */
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * What is wrong with the shape of a parsed request value (`what` names it in the message), or
 * undefined: nesting deeper than `maxDepth` (validation and transformation recurse, so a deep
 * enough value overflows their stack), or a prototype-named key anywhere.
 */
export function shapeProblem(root: unknown, what: string, maxDepth = MAX_JSON_DEPTH): string | undefined {
  return findInJson(root, ({ key, value, path, depth }) => {
    if (PROTOTYPE_KEYS.has(key)) {
      // Worded like the validation pipe's own unknown-field errors.
      const parent = path.slice(0, -key.length - 1);
      return `${parent ? `${path}: ` : ''}property ${key} should not exist`;
    }
    if (typeof value === 'object' && value !== null && depth + 1 > maxDepth) return `${what} nests deeper than ${maxDepth} levels`;
    return undefined;
  });
}

/** A request once the JSON body parser ran (Express adds `body` and `query`). */
interface ParsedRequest extends IncomingMessage {
  body?: unknown;
  query?: unknown;
}

/**
 * Runs right after the JSON body parser, before any route: refuses bodies and query strings
 * whose shape `shapeProblem` rejects with 400 VALIDATION_FAILED.
 */
export function refuseHostileShapes(request: ParsedRequest, _response: ServerResponse, next: (err?: unknown) => void): void {
  const problem = shapeProblem(request.body, 'request body') ?? shapeProblem(request.query, 'query string');
  next(problem === undefined ? undefined : new ApiError(ErrorCode.VALIDATION_FAILED, problem));
}
