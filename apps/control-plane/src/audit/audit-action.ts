import { SetMetadata } from '@nestjs/common';

/** What a mutating request did, for the audit log. */
export interface AuditAction {
  action: string;
  targetType: string;
  /** The name of the route parameter holding the target id; absent: the response's `id`. */
  targetParam?: string;
}

export const AUDIT_ACTION = 'moat:audit-action';

/**
 * Names a route's audit action where the derived name does not fit, e.g.
 * `@AuditAs({ action: 'template.version.create', targetType: 'template', targetParam: 'id' })`.
 */
export const AuditAs = (action: AuditAction): MethodDecorator => SetMetadata(AUDIT_ACTION, action);

export const AUDIT_DETAIL = 'moat:audit-detail';

/** What a route's successful audit entry says beyond its action and target, from the handler's result. */
export type AuditDetailOf<T> = (result: T) => string;

/**
 * Gives a route's successful audit entries a message worked out from what the handler returned,
 * e.g. `@AuditDetail((clones: SandboxDto[]) => clones.map((c) => c.id).join(', '))`; a failure's message is its error.
 */
export const AuditDetail = <T>(detail: AuditDetailOf<T>): MethodDecorator => SetMetadata(AUDIT_DETAIL, detail);

function singular(resource: string): string {
  if (resource.endsWith('xes')) return resource.slice(0, -2);
  return resource.endsWith('s') ? resource.slice(0, -1) : resource;
}

const VERB_FOR_METHOD: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete' };

/**
 * Derives the audit action from a route pattern, so that every mutating route — including
 * ones added later — is named without extra code:
 * `POST /v1/sandboxes` → `sandbox.create` (target: the response id);
 * `PATCH /v1/nodes/:id` → `node.update`; `POST /v1/nodes/:id/cordon` → `node.cordon`;
 * `POST /v1/deployments/:id/rollouts` → `rollout.create`; `DELETE /v1/tenants/:id/api-keys/:keyId`
 * → `api-key.delete` (target `:keyId`); `POST /v1/nodes/join-tokens` → `join-token.create`.
 */
export function deriveAuditAction(method: string, pattern: string): AuditAction {
  const segments = pattern.split('/').filter((s) => s.length > 0 && s !== 'v1');
  const verb = VERB_FOR_METHOD[method] ?? method.toLowerCase();
  // The last literal segment names what is acted on, or how.
  let lastLiteral = -1;
  for (let i = segments.length - 1; i >= 0; i--) {
    if (!segments[i].startsWith(':')) {
      lastLiteral = i;
      break;
    }
  }
  if (lastLiteral < 0) return { action: `unknown.${verb}`, targetType: 'unknown' };
  const literal = segments[lastLiteral];
  const after = segments[lastLiteral + 1];
  if (after?.startsWith(':')) {
    // `/things/:id` (or `/a/:id/things/:thingId`): the method is the verb.
    return { action: `${singular(literal)}.${verb}`, targetType: singular(literal), targetParam: after.slice(1) };
  }
  const owner = segments.slice(0, lastLiteral).reverse().find((s) => !s.startsWith(':'));
  const ownerParam = segments[lastLiteral - 1]?.startsWith(':') ? segments[lastLiteral - 1].slice(1) : undefined;
  if (!owner || (method === 'POST' && literal.endsWith('s'))) {
    // A collection: `/things` or `/owners/:id/things` → thing.create, the new id in the response.
    return { action: `${singular(literal)}.${verb}`, targetType: singular(literal) };
  }
  // An operation on a resource: `/things/:id/cordon` → thing.cordon.
  return { action: `${singular(owner)}.${literal}`, targetType: singular(owner), targetParam: ownerParam };
}
