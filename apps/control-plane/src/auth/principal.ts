/** Who is calling: the operator (admin token) or one tenant (through one of its API keys). */
export type Principal = { kind: 'admin' } | { kind: 'tenant'; tenantId: string; keyId: string };

export const ADMIN: Principal = { kind: 'admin' };
