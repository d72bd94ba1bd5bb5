import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { errorCodeForHttpStatus, httpStatusFor } from './error-status';
import { ErrorCode, ApiError } from './api.error';

/** The body of every API error response. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** What body-parser (run by Express before any route) throws on a bad body. */
interface BodyParserError {
  type: string;
  status: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as Partial<BodyParserError>).type === 'string' &&
    typeof (err as Partial<BodyParserError>).status === 'number'
  );
}

/**
 * Turns anything thrown while serving an HTTP request into `{ error: { code, message } }`.
 * Unexpected errors are logged and answered with a generic 500 so internals never leak.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<ServerResponse>();
    const { status, body } = this.describe(exception);
    if (response.headersSent) {
      response.destroy();
      return;
    }
    response.statusCode = status;
    response.setHeader('content-type', 'application/json; charset=utf-8');
    response.end(JSON.stringify(body));
  }

  private describe(exception: unknown): { status: number; body: ErrorBody } {
    if (exception instanceof ApiError) {
      return this.reply(exception.code, exception.message);
    }
    // Nest wraps body-parser failures in an HttpException; the original says which one.
    const bodyError = exception instanceof HttpException ? exception.cause : exception;
    if (isBodyParserError(bodyError)) {
      switch (bodyError.type) {
        case 'entity.parse.failed':
          return this.reply(ErrorCode.MALFORMED_JSON, 'request body is not valid JSON');
        case 'entity.too.large':
          return this.reply(ErrorCode.PAYLOAD_TOO_LARGE, 'request body exceeds 1 MiB');
      }
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = errorCodeForHttpStatus(status);
      if (code !== ErrorCode.INTERNAL) return { status, body: { error: { code, message: exception.message } } };
    }
    this.logger.error({ err: exception }, 'unhandled error');
    return this.reply(ErrorCode.INTERNAL, 'internal error');
  }

  private reply(code: ErrorCode, message: string): { status: number; body: ErrorBody } {
    return { status: httpStatusFor(code), body: { error: { code, message } } };
  }
}
