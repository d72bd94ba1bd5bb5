import { Injectable, NestMiddleware } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import type { AuthenticatedRequest } from '../auth/auth.decorators';
import { routePattern, type RoutedRequest } from '../metrics/http-metrics.middleware';
import { AUDIT_ACTION, AuditAction, deriveAuditAction } from './audit-action';
import { AUDIT_NOTE, type AuditableRequest } from './audit.interceptor';
import { AuditService } from './audit.service';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

type Request = RoutedRequest & AuthenticatedRequest & AuditableRequest & { params?: Record<string, string> };

/**
 * Records every mutating request that got past authentication — allowed or refused — once
 * its response is sent: who, what, on which target, the outcome and when.
 */
@Injectable()
export class AuditMiddleware implements NestMiddleware<Request, ServerResponse> {
  constructor(
    private readonly audit: AuditService,
    private readonly reflector: Reflector,
  ) {}

  use(request: Request, response: ServerResponse, next: () => void): void {
    if (MUTATING.has(request.method ?? '')) response.once('finish', () => this.onFinish(request, response));
    next();
  }

  private onFinish(request: Request, response: ServerResponse): void {
    const principal = request.principal;
    const pattern = routePattern(request);
    // Without a principal nobody can be named (401); node agents record their own actions.
    if (!principal || !pattern) return;
    const note = request[AUDIT_NOTE];
    const explicit = note?.handler ? this.reflector.get<AuditAction | undefined>(AUDIT_ACTION, note.handler) : undefined;
    const { action, targetType, targetParam } = explicit ?? deriveAuditAction(request.method ?? 'POST', pattern);
    const targetId = targetParam ? request.params?.[targetParam] : note?.resultId;
    const ok = response.statusCode < 400;
    this.audit.record({
      actorKind: principal.kind,
      actorId: principal.kind === 'admin' ? 'admin' : principal.keyId,
      tenantId: principal.kind === 'tenant' ? principal.tenantId : tenantOfTarget(targetType, targetId),
      action,
      targetType,
      targetId: targetId?.slice(0, 64) ?? null,
      result: ok ? 'success' : 'failure',
      status: response.statusCode,
      message: (ok ? note?.detail : note?.error)?.slice(0, 1024) ?? null,
    });
  }
}

/** Admin actions on a tenant belong to that tenant's log too. */
function tenantOfTarget(targetType: string, targetId: string | undefined): string | null {
  return targetType === 'tenant' && targetId ? targetId : null;
}
