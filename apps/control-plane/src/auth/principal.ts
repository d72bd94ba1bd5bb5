/** Who is calling: the operator (admin token) or one tenant (through one of its API keys). */
export type Principal = { kind: 'admin' } | { kind: 'tenant'; tenantId: string; keyId: string };

export const ADMIN: Principal = { kind: 'admin' };

/** Whether the caller may see something owned by `tenantId` (the admin sees everything). */
export function mayAccess(principal: Principal, tenantId: string): boolean {
  return principal.kind === 'admin' || principal.tenantId === tenantId;
}
