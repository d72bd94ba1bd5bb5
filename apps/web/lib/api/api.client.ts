import {
  bodyOf,
  Moat,
  sandboxLogs,
  type ApiKey,
  type AuditPage,
  type AuditQuery,
  type CreateDeploymentRequest,
  type CreateSandboxRequest,
  type CreatedApiKey,
  type CreatedTemplateVersion,
  type CreatedTenant,
  type Deployment,
  type DrainNodeRequest,
  type ExecRequest,
  type ExecResult,
  type FleetNode,
  type LogChunk,
  type LogsOptions,
  type Me,
  type MoatApi,
  type MoatOptions,
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

/** The operator's actions on a node, each its own route (`moat.nodes`). */
export type NodeAction = 'cordon' | 'uncordon' | 'drain';

/** Hibernating and waking a sandbox: 202, its node does the work and reports its states. */
const SANDBOX_ACTION_PATHS = { hibernate: '/v1/sandboxes/{id}/hibernate', wake: '/v1/sandboxes/{id}/wake' } as const;

export type SandboxAction = keyof typeof SANDBOX_ACTION_PATHS;

const TENANT_ACTION_PATHS = { suspend: '/v1/tenants/{id}/suspend', resume: '/v1/tenants/{id}/resume' } as const;

/** What the dashboard asks of the control plane, with one bearer token, through @moat/sdk. */
export class ApiClient {
  private readonly moat: Moat;
  private readonly api: MoatApi;

  constructor(
    readonly baseUrl: string,
    token: string,
    fetchApi: MoatOptions['fetch'] = (request) => fetch(request, { cache: 'no-store' }),
  ) {
    this.moat = new Moat({ apiUrl: baseUrl, token, fetch: fetchApi });
    this.api = this.moat.api;
  }

  me(): Promise<Me> {
    return bodyOf(this.api.GET('/v1/me'));
  }

  listNodes(): Promise<FleetNode[]> {
    return bodyOf(this.api.GET('/v1/nodes'));
  }

  /** `drain` says how (`mode`; without one the control plane's default, replace). */
  nodeAction(nodeId: string, action: NodeAction, drain: DrainNodeRequest = {}): Promise<FleetNode> {
    return action === 'drain' ? this.moat.nodes.drain(nodeId, drain) : this.moat.nodes[action](nodeId);
  }

  listSandboxes(): Promise<Sandbox[]> {
    return bodyOf(this.api.GET('/v1/sandboxes'));
  }

  createSandbox(req: CreateSandboxRequest): Promise<Sandbox> {
    return bodyOf(this.api.POST('/v1/sandboxes', { body: req }));
  }

  sandboxStats(sandboxId: string): Promise<SandboxStats> {
    return bodyOf(this.api.GET('/v1/sandboxes/{id}/stats', { params: { path: { id: sandboxId } } }));
  }

  exec(sandboxId: string, req: ExecRequest): Promise<ExecResult> {
    return bodyOf(this.api.POST('/v1/sandboxes/{id}/exec', { params: { path: { id: sandboxId } }, body: req }));
  }

  /** The sandbox's main-process output, chunk by chunk; live until it ends with `follow`. */
  logs(sandboxId: string, options: LogsOptions): AsyncIterable<LogChunk> {
    return sandboxLogs(this.api, sandboxId, options);
  }

  /** Resolves once the node is asked (202) with the sandbox as it is; its new states follow by event. */
  sandboxAction(sandboxId: string, action: SandboxAction): Promise<Sandbox> {
    return bodyOf(this.api.POST(SANDBOX_ACTION_PATHS[action], { params: { path: { id: sandboxId } } }));
  }

  /** The clones (201), placed on the sandbox's node; their node starts them from one capture of it. */
  forkSandbox(sandboxId: string, count: number): Promise<Sandbox[]> {
    return bodyOf(this.api.POST('/v1/sandboxes/{id}/fork', { params: { path: { id: sandboxId } }, body: { count } }));
  }

  /** Resolves once the move is accepted (202, `migrating`); where it ends up follows by event. Without `nodeId` the scheduler chooses. */
  migrateSandbox(sandboxId: string, nodeId?: string): Promise<Sandbox> {
    return this.moat.sandboxes.migrate(sandboxId, nodeId ? { nodeId } : {});
  }

  /** Resolves once deletion is accepted (202); the sandbox disappears later, by event. */
  async deleteSandbox(sandboxId: string): Promise<void> {
    await bodyOf(this.api.DELETE('/v1/sandboxes/{id}', { params: { path: { id: sandboxId } } }));
  }

  listTenants(): Promise<Tenant[]> {
    return bodyOf(this.api.GET('/v1/tenants'));
  }

  createTenant(req: { name: string; quota?: Quota }): Promise<CreatedTenant> {
    return bodyOf(this.api.POST('/v1/tenants', { body: req }));
  }

  tenantAction(tenantId: string, action: keyof typeof TENANT_ACTION_PATHS): Promise<Tenant> {
    return bodyOf(this.api.POST(TENANT_ACTION_PATHS[action], { params: { path: { id: tenantId } } }));
  }

  tenantUsage(tenantId: string): Promise<TenantUsage> {
    return bodyOf(this.api.GET('/v1/tenants/{id}/usage', { params: { path: { id: tenantId } } }));
  }

  listApiKeys(tenantId: string): Promise<ApiKey[]> {
    return bodyOf(this.api.GET('/v1/tenants/{id}/api-keys', { params: { path: { id: tenantId } } }));
  }

  createApiKey(tenantId: string, name?: string): Promise<CreatedApiKey> {
    return bodyOf(this.api.POST('/v1/tenants/{id}/api-keys', { params: { path: { id: tenantId } }, body: name ? { name } : {} }));
  }

  async revokeApiKey(tenantId: string, keyId: string): Promise<void> {
    await bodyOf(this.api.DELETE('/v1/tenants/{id}/api-keys/{keyId}', { params: { path: { id: tenantId, keyId } } }));
  }

  /** A page of the audit log; the filter form's blank fields are left out. */
  audit(query: AuditQuery): Promise<AuditPage> {
    const given = Object.entries(query).filter(([, value]) => value !== undefined && value !== '');
    return bodyOf(this.api.GET('/v1/audit', { params: { query: Object.fromEntries(given) } }));
  }

  listTemplates(): Promise<TemplateSummary[]> {
    return bodyOf(this.api.GET('/v1/templates'));
  }

  template(templateId: string): Promise<TemplateDetail> {
    return bodyOf(this.api.GET('/v1/templates/{id}', { params: { path: { id: templateId } } }));
  }

  createTemplate(name: string, spec: TemplateSpec): Promise<CreatedTemplateVersion> {
    return bodyOf(this.api.POST('/v1/templates', { body: { name, ...spec } }));
  }

  createTemplateVersion(templateId: string, spec: TemplateSpec): Promise<CreatedTemplateVersion> {
    return bodyOf(this.api.POST('/v1/templates/{id}/versions', { params: { path: { id: templateId } }, body: spec }));
  }

  listDeployments(): Promise<Deployment[]> {
    return bodyOf(this.api.GET('/v1/deployments'));
  }

  createDeployment(req: CreateDeploymentRequest): Promise<Deployment> {
    return bodyOf(this.api.POST('/v1/deployments', { body: req }));
  }

  async deleteDeployment(deploymentId: string): Promise<void> {
    await bodyOf(this.api.DELETE('/v1/deployments/{id}', { params: { path: { id: deploymentId } } }));
  }

  listRollouts(deploymentId: string): Promise<Rollout[]> {
    return bodyOf(this.api.GET('/v1/deployments/{id}/rollouts', { params: { path: { id: deploymentId } } }));
  }

  startRollout(deploymentId: string, templateVersion: number): Promise<{ id: string }> {
    return bodyOf(this.api.POST('/v1/deployments/{id}/rollouts', { params: { path: { id: deploymentId } }, body: { templateVersion } }));
  }

  rollout(rolloutId: string): Promise<Rollout> {
    return bodyOf(this.api.GET('/v1/rollouts/{id}', { params: { path: { id: rolloutId } } }));
  }

  rolloutAction(rolloutId: string, action: RolloutAction): Promise<Rollout> {
    return bodyOf(this.api.POST('/v1/rollouts/{id}/{action}', { params: { path: { id: rolloutId, action } } }));
  }
}
