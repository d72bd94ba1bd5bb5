/** Who is calling: the operator (admin token) or one tenant (its API key). */
export type Principal = { kind: 'admin' } | { kind: 'tenant'; tenantId: string };

export const ADMIN: Principal = { kind: 'admin' };

/** Whether the caller may see something owned by `tenantId` (the admin sees everything). */
export function mayAccess(principal: Principal, tenantId: string): boolean {
  return principal.kind === 'admin' || principal.tenantId === tenantId;
}
