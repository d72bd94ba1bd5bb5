import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { MoatError } from '@moat/proto';
import { catchError, Observable, tap, throwError } from 'rxjs';
import { AUDIT_DETAIL, type AuditDetailOf } from './audit-action';

export const AUDIT_NOTE = Symbol('moat:audit-note');

/** What the handler left for the audit log: the new resource's id and what its route says of the result (see AuditDetail), or why it failed. */
export interface AuditNote {
  resultId?: string;
  detail?: string;
  error?: string;
  handler?: (...args: never[]) => unknown;
}

export interface AuditableRequest {
  [AUDIT_NOTE]?: AuditNote;
}

/** Notes each handler's outcome on the request; the audit middleware writes it on finish. */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<AuditableRequest>();
    const note: AuditNote = { handler: context.getHandler() as AuditNote['handler'] };
    request[AUDIT_NOTE] = note;
    const detail = this.reflector.get<AuditDetailOf<unknown> | undefined>(AUDIT_DETAIL, context.getHandler());
    return next.handle().pipe(
      tap((result: unknown) => {
        const id = (result as { id?: unknown } | null | undefined)?.id;
        if (typeof id === 'string') note.resultId = id;
        if (detail) note.detail = detail(result);
      }),
      catchError((err: unknown) => {
        note.error = err instanceof MoatError ? err.message : 'internal error';
        return throwError(() => err);
      }),
    );
  }
}
