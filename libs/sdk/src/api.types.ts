// The API's representations under the names its users speak of, all taken from the types
// openapi-typescript generates from the control plane's OpenAPI document: none is written by hand.
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

export type Sandbox = Schemas['SandboxDto'];
export type SandboxState = Sandbox['state'];
export type CreateSandboxRequest = Schemas['CreateSandboxDto'];
export type ListSandboxesQuery = NonNullable<operations['SandboxesController_list']['parameters']['query']>;
export type NetworkModel = NonNullable<Sandbox['networkModel']>;
export type RootfsMode = NonNullable<Sandbox['rootfs']>;
export type PhaseTiming = Schemas['PhaseTimingDto'];
export type PendingReason = Schemas['PendingReasonDto'];
export type EgressPolicy = Schemas['EgressPolicyDto'];
export type DnsConfig = Schemas['DnsConfigDto'];
export type SandboxIsolation = Schemas['SandboxIsolationDto'];
export type SandboxEvent = Schemas['SandboxEventDto'];
export type SandboxStats = Schemas['SandboxStatsDto'];
export type ExecRequest = Schemas['ExecDto'];
export type ExecResult = Schemas['ExecResultDto'];
export type FileInfo = Schemas['FileInfoDto'];
export type FileList = Schemas['FileListDto'];
export type UploadedFile = Schemas['UploadedFileDto'];

export type FleetNode = Schemas['NodeDto'];
export type NodeState = FleetNode['state'];
export type Resources = Schemas['CapacityDto'];

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

/** Every sandbox state, in lifecycle order. */
export const SANDBOX_STATES: readonly SandboxState[] = sandboxDtoStateValues;
/** Every node state. */
export const NODE_STATES: readonly NodeState[] = nodeDtoStateValues;
