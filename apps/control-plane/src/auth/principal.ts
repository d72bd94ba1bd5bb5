/** Who is calling: the operator (admin token) or one tenant (its API key). */
export type Principal = { kind: 'admin' } | { kind: 'tenant'; tenantId: string };

export const ADMIN: Principal = { kind: 'admin' };
