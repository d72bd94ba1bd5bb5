import {
  MoatApiError,
  type ApiKey,
  type AuditPage,
  type AuditQuery,
  type CreateDeploymentRequest,
  type CreateSandboxRequest,
  type CreatedApiKey,
  type CreatedTemplateVersion,
  type CreatedTenant,
  type Deployment,
  type ExecRequest,
  type ExecResult,
  type FleetNode,
  type Me,
  type Quota,
  type Rollout,
  type RolloutAction,
  type Sandbox,
  type SandboxStats,
  type TemplateDetail,
  type TemplateSpec,
  type TemplateSummary,
  type Tenant,
  type TenantUsage,
} from '@moat/sdk';

/** What an operator can do to a node (each its own route). */
export type NodeAction = 'cordon' | 'uncordon' | 'drain';

const seg = encodeURIComponent;

/** Typed access to the control plane's REST API with one bearer token. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  me(): Promise<Me> {
    return this.request('GET', '/v1/me');
  }

  listNodes(): Promise<FleetNode[]> {
    return this.request('GET', '/v1/nodes');
  }

  nodeAction(nodeId: string, action: NodeAction): Promise<FleetNode> {
    return this.request('POST', `/v1/nodes/${seg(nodeId)}/${action}`);
  }

  listSandboxes(): Promise<Sandbox[]> {
    return this.request('GET', '/v1/sandboxes');
  }

  createSandbox(req: CreateSandboxRequest): Promise<Sandbox> {
    return this.request('POST', '/v1/sandboxes', req);
  }

  sandboxStats(sandboxId: string): Promise<SandboxStats> {
    return this.request('GET', `/v1/sandboxes/${seg(sandboxId)}/stats`);
  }

  exec(sandboxId: string, req: ExecRequest): Promise<ExecResult> {
    return this.request('POST', `/v1/sandboxes/${seg(sandboxId)}/exec`, req);
  }

  /** Resolves once deletion is accepted (202); the sandbox disappears later, by event. */
  async deleteSandbox(sandboxId: string): Promise<void> {
    await this.request('DELETE', `/v1/sandboxes/${seg(sandboxId)}`);
  }

  listTenants(): Promise<Tenant[]> {
    return this.request('GET', '/v1/tenants');
  }

  createTenant(req: { name: string; quota?: Quota }): Promise<CreatedTenant> {
    return this.request('POST', '/v1/tenants', req);
  }

  tenantAction(tenantId: string, action: 'suspend' | 'resume'): Promise<Tenant> {
    return this.request('POST', `/v1/tenants/${seg(tenantId)}/${action}`);
  }

  tenantUsage(tenantId: string): Promise<TenantUsage> {
    return this.request('GET', `/v1/tenants/${seg(tenantId)}/usage`);
  }

  listApiKeys(tenantId: string): Promise<ApiKey[]> {
    return this.request('GET', `/v1/tenants/${seg(tenantId)}/api-keys`);
  }

  createApiKey(tenantId: string, name?: string): Promise<CreatedApiKey> {
    return this.request('POST', `/v1/tenants/${seg(tenantId)}/api-keys`, name ? { name } : {});
  }

  async revokeApiKey(tenantId: string, keyId: string): Promise<void> {
    await this.request('DELETE', `/v1/tenants/${seg(tenantId)}/api-keys/${seg(keyId)}`);
  }

  audit(query: AuditQuery): Promise<AuditPage> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== '') params.set(key, String(value));
    }
    const qs = params.toString();
    return this.request('GET', `/v1/audit${qs ? `?${qs}` : ''}`);
  }

  listTemplates(): Promise<TemplateSummary[]> {
    return this.request('GET', '/v1/templates');
  }

  template(templateId: string): Promise<TemplateDetail> {
    return this.request('GET', `/v1/templates/${seg(templateId)}`);
  }

  createTemplate(name: string, spec: TemplateSpec): Promise<CreatedTemplateVersion> {
    return this.request('POST', '/v1/templates', { name, ...spec });
  }

  createTemplateVersion(templateId: string, spec: TemplateSpec): Promise<CreatedTemplateVersion> {
    return this.request('POST', `/v1/templates/${seg(templateId)}/versions`, spec);
  }

  listDeployments(): Promise<Deployment[]> {
    return this.request('GET', '/v1/deployments');
  }

  createDeployment(req: CreateDeploymentRequest): Promise<Deployment> {
    return this.request('POST', '/v1/deployments', req);
  }

  async deleteDeployment(deploymentId: string): Promise<void> {
    await this.request('DELETE', `/v1/deployments/${seg(deploymentId)}`);
  }

  listRollouts(deploymentId: string): Promise<Rollout[]> {
    return this.request('GET', `/v1/deployments/${seg(deploymentId)}/rollouts`);
  }

  startRollout(deploymentId: string, templateVersion: number): Promise<{ id: string }> {
    return this.request('POST', `/v1/deployments/${seg(deploymentId)}/rollouts`, { templateVersion });
  }

  rollout(rolloutId: string): Promise<Rollout> {
    return this.request('GET', `/v1/rollouts/${seg(rolloutId)}`);
  }

  rolloutAction(rolloutId: string, action: RolloutAction): Promise<Rollout> {
    return this.request('POST', `/v1/rollouts/${seg(rolloutId)}/${action}`);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
    const text = await res.text();
    const parsed: unknown = text ? safeJson(text) : undefined;
    if (!res.ok) throw MoatApiError.fromResponse(res.status, res.statusText, parsed);
    return parsed as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
