// The API's representations under the names its users speak of, taken from the types
// openapi-typescript generates from the control plane's OpenAPI document. Live migration (the
// `migrating` state, the migrate request, drain modes) is also named by hand below, so clients
// can use it whatever document the SDK was built from: once the document has it, each of those
// definitions means the same as the generated one.
import type { Client } from 'openapi-fetch';
import type { components, operations, paths } from './generated/api';
import { nodeDtoStateValues, sandboxDtoStateValues } from './generated/api';

/** The client generated from the OpenAPI document, typed route by route (openapi-fetch). */
export type MoatApi = Client<paths>;

type Schemas = components['schemas'];

/** The body of every API error answer: `{ "error": { "code", "message" } }`. */
export type ApiErrorBody = Schemas['ErrorBodyDto'];
export type ErrorInfo = Schemas['ErrorDetailDto'];
export type ErrorCode = Schemas['ErrorCode'];

type GeneratedSandbox = Schemas['SandboxDto'];
/** A sandbox's state; `migrating` while it moves live to another node (it keeps running meanwhile). */
export type SandboxState = GeneratedSandbox['state'] | 'migrating';
export type SandboxEvent = Omit<Schemas['SandboxEventDto'], 'state'> & { state: SandboxState };
export type Sandbox = Omit<GeneratedSandbox, 'state' | 'events'> & { state: SandboxState; events: SandboxEvent[] };
export type CreateSandboxRequest = Schemas['CreateSandboxDto'];
export type ListSandboxesQuery = NonNullable<operations['SandboxesController_list']['parameters']['query']>;
export type NetworkModel = NonNullable<Sandbox['networkModel']>;
export type RootfsMode = NonNullable<Sandbox['rootfs']>;
export type PhaseTiming = Schemas['PhaseTimingDto'];
export type PendingReason = Schemas['PendingReasonDto'];
export type EgressPolicy = Schemas['EgressPolicyDto'];
export type DnsConfig = Schemas['DnsConfigDto'];
export type SandboxIsolation = Schemas['SandboxIsolationDto'];
export type SandboxStats = Schemas['SandboxStatsDto'];
export type ExecRequest = Schemas['ExecDto'];
export type ExecResult = Schemas['ExecResultDto'];
export type FileInfo = Schemas['FileInfoDto'];
export type FileList = Schemas['FileListDto'];
export type UploadedFile = Schemas['UploadedFileDto'];

export type FleetNode = Schemas['NodeDto'];
export type NodeState = FleetNode['state'];
export type Resources = Schemas['CapacityDto'];

/** `POST /v1/sandboxes/{id}/migrate`: the node to move it to; without one the scheduler chooses. */
export interface MigrateSandboxRequest {
  nodeId?: string;
}
/**
 * How a drain empties a node: `replace` (the default) recreates deployment replicas elsewhere
 * and leaves other sandboxes running; `migrate` moves running sandboxes live to other nodes.
 */
export type DrainMode = 'replace' | 'migrate';
export const DRAIN_MODES: readonly DrainMode[] = ['replace', 'migrate'];
/** `POST /v1/nodes/{id}/drain`'s body. */
export interface DrainNodeRequest {
  mode?: DrainMode;
}

export type Quota = Schemas['QuotaDto'];
export type Tenant = Schemas['TenantDto'];
export type CreatedTenant = Schemas['CreatedTenantDto'];
export type TenantUsage = Schemas['UsageDto'];
export type ApiKey = Schemas['ApiKeyDto'];
export type CreatedApiKey = Schemas['CreatedApiKeyDto'];
/** Who a token belongs to: the admin, or a tenant. */
export type Me = operations['MeController_me']['responses'][200]['content']['application/json'];
/** Admins see the fleet; a tenant key sees that tenant's sandboxes only. */
export type Role = Me['kind'];
export type AuditEntry = Schemas['AuditEntryDto'];
export type AuditPage = Schemas['AuditPageDto'];
export type AuditQuery = NonNullable<operations['AuditController_list']['parameters']['query']>;

export type TemplateSpec = Schemas['TemplateSpecDto'];
export type TemplateSummary = Schemas['TemplateSummaryDto'];
export type TemplateVersion = Schemas['TemplateVersionDto'];
export type TemplateDetail = Schemas['TemplateDetailDto'];
export type CreatedTemplateVersion = Schemas['TemplateVersionWithTemplateDto'];
export type Strategy = Schemas['StrategyDto'];
export type StrategyType = Strategy['type'];
export type Deployment = Schemas['DeploymentDto'];
export type CreateDeploymentRequest = Schemas['CreateDeploymentDto'];
export type Rollout = Schemas['RolloutDto'];
export type RolloutAction = operations['RolloutsController_act']['parameters']['path']['action'];

const GENERATED_SANDBOX_STATES: readonly SandboxState[] = sandboxDtoStateValues;
/** Every sandbox state, in lifecycle order (`migrating` after `waking` when the document has no place for it yet). */
export const SANDBOX_STATES: readonly SandboxState[] = GENERATED_SANDBOX_STATES.includes('migrating')
  ? GENERATED_SANDBOX_STATES
  : GENERATED_SANDBOX_STATES.flatMap((state) => (state === 'waking' ? [state, 'migrating' as const] : [state]));
/** Every node state. */
export const NODE_STATES: readonly NodeState[] = nodeDtoStateValues;
