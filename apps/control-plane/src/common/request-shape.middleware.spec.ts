import { parse } from 'node:querystring';
import { describe, expect, it } from '@jest/globals';
import { ApiError, ErrorCode } from './api.error';
import { MAX_JSON_DEPTH, refuseHostileShapes, shapeProblem } from './request-shape.middleware';

/** JSON text nesting `levels` arrays or objects inside each other. */
function nestedText(levels: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? `${'['.repeat(levels)}${']'.repeat(levels)}` : `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
}

function refusalOf(body: unknown, query: unknown = {}): unknown {
  let passed: unknown = 'next not called';
  refuseHostileShapes({ body, query } as never, {} as never, (err) => (passed = err));
  return passed;
}

describe('request shapes', () => {
  it('takes nesting up to the limit and refuses one level more', () => {
    expect(shapeProblem(JSON.parse(nestedText(MAX_JSON_DEPTH, 'object')), 'request body')).toBeUndefined();
    expect(shapeProblem(JSON.parse(nestedText(MAX_JSON_DEPTH + 1, 'object')), 'request body')).toBe(
      `request body nests deeper than ${MAX_JSON_DEPTH} levels`,
    );
  });

  it('answers nesting far deeper than the call stack without overflowing it', () => {
    for (const kind of ['array', 'object'] as const) {
      expect(shapeProblem(JSON.parse(nestedText(200_000, kind)), 'request body')).toMatch(/nests deeper than 64 levels/);
    }
  });

  it('refuses prototype-named keys anywhere, as JSON.parse makes them, naming where', () => {
    expect(shapeProblem(JSON.parse('{"name":"x","__proto__":{"admin":true}}'), 'request body')).toBe('property __proto__ should not exist');
    expect(shapeProblem(JSON.parse('{"quota":{"constructor":1}}'), 'request body')).toBe(
      'quota.constructor: property constructor should not exist',
    );
    expect(shapeProblem(JSON.parse('{"ports":[{"containerPort":80},{"prototype":{}}]}'), 'request body')).toBe(
      'ports.1.prototype: property prototype should not exist',
    );
    expect(shapeProblem({ labels: { 'app.kubernetes.io/name': 'web', constructorish: 'x' } }, 'request body')).toBeUndefined();
  });

  it('lets ordinary bodies and query strings through, and refuses hostile ones with VALIDATION_FAILED', () => {
    expect(refusalOf({ name: 'acme', quota: { maxSandboxes: 3 } }, { state: 'running' })).toBeUndefined();
    expect(refusalOf(undefined)).toBeUndefined();
    const refused = refusalOf(JSON.parse(nestedText(1500, 'array')));
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ code: ErrorCode.VALIDATION_FAILED });
    // Express's query parser: node's querystring, whose objects take `__proto__` as a key.
    expect(refusalOf({}, parse('__proto__=x&state=running'))).toMatchObject({
      code: ErrorCode.VALIDATION_FAILED,
      message: 'property __proto__ should not exist',
    });
  });
});
