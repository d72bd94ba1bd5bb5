import { ArgumentsHost, HttpException, Logger, NotFoundException } from '@nestjs/common';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { httpStatusFor } from './error-status';
import { HttpExceptionFilter } from './http-exception.filter';
import { ErrorCode, ApiError } from './api.error';

function render(exception: unknown): { status: number; body: unknown } {
  const response = { statusCode: 0, headersSent: false, body: '', setHeader: () => undefined, end(text: string) { this.body = text; } };
  const host = { switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
  new HttpExceptionFilter().catch(exception, host);
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

describe('error mapping', () => {
  // The filter logs unexpected errors; that output is expected here, not news.
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('gives every code a status of the right class', () => {
    expect(httpStatusFor(ErrorCode.QUOTA_EXCEEDED)).toBe(403);
    expect(httpStatusFor(ErrorCode.SANDBOX_NOT_RUNNING)).toBe(409);
    expect(httpStatusFor(ErrorCode.MANAGED_BY_CONTAINERD)).toBe(409);
    expect(httpStatusFor(ErrorCode.NODE_UNAVAILABLE)).toBe(503);
    expect(httpStatusFor(ErrorCode.EXEC_TIMEOUT)).toBe(504);
    for (const code of Object.values(ErrorCode)) expect(httpStatusFor(code)).toBeGreaterThanOrEqual(400);
  });

  it('renders an ApiError with its code and message', () => {
    expect(render(new ApiError(ErrorCode.QUOTA_EXCEEDED, 'too many'))).toEqual({
      status: 403,
      body: { error: { code: 'QUOTA_EXCEEDED', message: 'too many' } },
    });
  });

  it('recognises body-parser failures that Nest wrapped', () => {
    const syntax = Object.assign(new SyntaxError('Unexpected token'), { type: 'entity.parse.failed', status: 400 });
    expect(render(new HttpException('Unexpected token', 400, { cause: syntax }))).toMatchObject({
      status: 400,
      body: { error: { code: 'MALFORMED_JSON' } },
    });
    const large = Object.assign(new Error('too large'), { type: 'entity.too.large', status: 413 });
    expect(render(new HttpException('too large', 413, { cause: large }))).toMatchObject({
      status: 413,
      body: { error: { code: 'PAYLOAD_TOO_LARGE' } },
    });
  });

  it('answers bodies in a charset or encoding the parser cannot read with UNSUPPORTED_MEDIA_TYPE, not 500', () => {
    for (const [type, message] of [
      ['charset.unsupported', 'unsupported charset "LATIN1"'],
      ['encoding.unsupported', 'unsupported content encoding "compress"'],
    ]) {
      const cause = Object.assign(new Error(message), { type, status: 415, statusCode: 415 });
      expect(render(new HttpException(message, 415, { cause }))).toEqual({
        status: 415,
        body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message } },
      });
    }
  });

  it('answers unknown routes with NOT_FOUND', () => {
    expect(render(new NotFoundException('Cannot GET /x'))).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });

  it('hides the details of unexpected errors', () => {
    const { status, body } = render(new Error('connection to db at 10.0.0.5 failed'));
    expect(status).toBe(500);
    expect(body).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
});
