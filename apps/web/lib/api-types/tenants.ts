// Tenants, API keys and the audit log as the API shows them.

export interface Quota {
  maxSandboxes: number;
  maxVcpus: number;
  maxMemoryMiB: number;
}

export interface Tenant {
  id: string;
  name: string;
  state?: 'active' | 'suspended';
  quota: Quota;
  createdAt?: string;
}

export interface CreatedTenant extends Tenant {
  apiKey: string;
}

export interface TenantUsage {
  sandboxes: number;
  vcpus: number;
  memoryMiB: number;
  quota: Quota;
}

export interface ApiKey {
  id: string;
  name: string | null;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface CreatedApiKey {
  id: string;
  name: string | null;
  prefix: string;
  key: string;
  createdAt: string;
}

export type Me = { kind: 'admin' } | { kind: 'tenant'; tenant: Tenant };

export interface AuditEntry {
  id: string;
  at: string;
  actor: { kind: 'admin' | 'tenant' | 'node'; id: string };
  tenantId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  result: 'success' | 'failure';
  status: number;
  message: string | null;
}

export interface AuditPage {
  items: AuditEntry[];
  nextBefore: string | null;
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  since?: string;
  until?: string;
  limit?: number;
  before?: string;
}
