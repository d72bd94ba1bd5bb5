// The control plane's REST representations, as the dashboard uses them. Web never imports
// server code (Nx boundary `scope:web`), so these mirror the API contract by hand.

/** `unknown`: the control plane restarted and the node has not said hello since. */
export type NodeState = 'ready' | 'cordoned' | 'draining' | 'down' | 'unknown';
export type Accelerator = 'kvm' | 'tcg';

export interface Resources {
  vcpus: number;
  memoryMiB: number;
}

export interface FleetNode {
  id: string;
  name: string;
  state: NodeState;
  labels?: Record<string, string>;
  capacity: Resources;
  allocated: Resources;
  sandboxCount?: number;
  accel: Accelerator;
  hypervisors: string[];
  /** Whether it jails its VMMs; false only on a node running with MOAT_JAIL=false. */
  jailed: boolean;
  /** ISO 8601. */
  lastHeartbeatAt: string;
  createdAt?: string;
}

export const SANDBOX_STATES = ['pending', 'creating', 'running', 'stopping', 'stopped', 'failed', 'unknown'] as const;
export type SandboxState = (typeof SANDBOX_STATES)[number];

export const NODE_STATES: readonly NodeState[] = ['ready', 'cordoned', 'draining', 'down', 'unknown'];

export type NetworkModel = 'tcfilter' | 'macvtap' | 'bridge';
export type RootfsMode = 'virtiofs' | '9p' | 'block';
export type Health = 'unknown' | 'healthy' | 'unhealthy';

export interface PhaseTiming {
  phase: string;
  ms: number;
}

export interface ErrorInfo {
  code: string;
  message: string;
}

export interface PortMapping {
  containerPort: number;
  hostPort?: number;
  protocol: 'tcp' | 'udp';
}

/** Where a sandbox's traffic leaving its tenant network may go; `deny` wins over `allow`. */
export interface EgressPolicy {
  default: 'allow' | 'deny';
  /** IPv4 CIDRs. */
  allow?: string[];
  deny?: string[];
}

/** A sandbox's resolv.conf settings; what is absent is the node's. */
export interface DnsConfig {
  servers?: string[];
  search?: string[];
  options?: string[];
}

/** How a sandbox's VMM is fenced on its node, as the node reported it. */
export interface SandboxIsolation {
  jailed: boolean;
  /** The host uid the VMM runs as (0 when not jailed). */
  uid: number;
  seccomp: boolean;
  /** Its host cgroup. */
  cgroup?: string;
}

/** What happens to a sandbox its node reports failed; the limits are there with on-failure. */
export interface RestartPolicy {
  type: 'never' | 'on-failure';
  maxRestarts?: number;
  backoffSeconds?: number;
}

/** One state change of a sandbox, as the control plane recorded it. */
export interface SandboxEvent {
  /** ISO 8601. */
  at: string;
  state: SandboxState;
  /** For failures, restarts, deletes and nodes going away. */
  reason?: ErrorInfo;
}

export interface Sandbox {
  id: string;
  tenantId: string;
  /** Null while the scheduler has not placed the sandbox yet. */
  nodeId: string | null;
  state: SandboxState;
  vcpus: number;
  memoryMiB: number;
  image?: string | null;
  /** Replaces the image's Entrypoint and Cmd. */
  command?: string[] | null;
  env: Record<string, string>;
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  timings: PhaseTiming[];
  error?: ErrorInfo | null;
  guest?: { kernelRelease: string; agentVersion: string } | null;
  networkModel?: NetworkModel | null;
  rootfs?: RootfsMode | null;
  ip?: string | null;
  ports?: PortMapping[];
  /** How the node reaches the guest agent. */
  transport?: 'vsock' | 'hybrid-vsock' | 'virtio-serial' | null;
  /** Null: no policy beyond what the node always refuses. */
  egress?: EgressPolicy | null;
  /** Null: the node's resolvers. */
  dns?: DnsConfig | null;
  /** Null until the node reports it. */
  isolation?: SandboxIsolation | null;
  deploymentId?: string | null;
  templateId?: string | null;
  templateVersion?: number | null;
  health?: Health;
  /** Image pull progress while creating. */
  progress?: { phase: 'pull'; bytesDone: number; bytesTotal: number } | null;
  restartPolicy?: RestartPolicy;
  /** How often its restart policy has started it again. */
  restartCount?: number;
  /** Its state changes, oldest first (the latest 50). */
  events?: SandboxEvent[];
}

export interface CreateSandboxRequest {
  vcpus?: number;
  memoryMiB?: number;
  image?: string;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  networkModel?: NetworkModel;
  rootfs?: RootfsMode;
  egress?: EgressPolicy;
  dns?: DnsConfig;
  tenantId?: string;
}

export interface SandboxStats {
  cpu: { usageUsec: number; userUsec: number; systemUsec: number };
  memory: { currentBytes: number; maxBytes: number; limitBytes: number };
  pids: { current: number; limit: number };
  io: { readBytes: number; writeBytes: number };
  at: string;
}

export interface ExecRequest {
  command: string[];
  stdin?: string;
  timeoutMs?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

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

export interface HealthCheck {
  command: string[];
  intervalMs?: number;
  timeoutMs?: number;
  failureThreshold?: number;
}

export interface TemplateSpec {
  image?: string;
  command?: string[];
  vcpus: number;
  memoryMiB: number;
  env?: Record<string, string>;
  networkModel?: NetworkModel;
  rootfs?: RootfsMode;
  labels?: Record<string, string>;
  egress?: EgressPolicy;
  dns?: DnsConfig;
  healthCheck?: HealthCheck;
  restartPolicy?: RestartPolicy;
}

export interface TemplateSummary {
  id: string;
  name: string;
  latestVersion: number;
  tenantId?: string;
  createdAt?: string;
}

export interface TemplateVersion extends TemplateSpec {
  version: number;
  createdAt: string;
}

export interface TemplateDetail {
  id: string;
  name: string;
  latestVersion: number;
  versions: TemplateVersion[];
}

export type StrategyType = 'rolling' | 'canary' | 'blue-green' | 'immediate';

export interface Strategy {
  type: StrategyType;
  /** A count or a percentage of the desired replicas, e.g. `"10%"` (as the API stores it). */
  maxUnavailable: number | string;
  maxSurge: number | string;
  canaryReplicas?: number;
  autoPromote?: boolean;
  minHealthySeconds?: number;
  progressDeadlineSeconds?: number;
  autoRollback: boolean;
}

export interface Deployment {
  id: string;
  name: string;
  tenantId: string;
  templateId: string;
  templateVersion: number;
  replicas: number | null;
  perNode: boolean;
  nodeSelector: Record<string, string> | null;
  strategy: Strategy;
  state: 'active' | 'rolling' | 'deleting';
  counts: { desired: number; running: number; healthy: number; unhealthy: number };
  currentRolloutId: string | null;
  createdAt: string;
}

export interface CreateDeploymentRequest {
  name?: string;
  templateId: string;
  templateVersion?: number;
  replicas?: number;
  perNode?: true;
  strategy: Strategy;
}

export type RolloutState = 'progressing' | 'paused' | 'completed' | 'failed' | 'rolled-back';

export interface RolloutStep {
  index: number;
  name: string;
  state: 'pending' | 'running' | 'done' | 'failed';
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Rollout {
  id: string;
  deploymentId: string;
  fromVersion: number;
  toVersion: number;
  strategy: Strategy;
  state: RolloutState;
  steps: RolloutStep[];
  progress: { old: number; new: number; healthy: number; unavailable: number; desired: number };
  reason: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export type RolloutAction = 'pause' | 'resume' | 'abort' | 'promote';
export type NodeAction = 'cordon' | 'uncordon' | 'drain';

/** Body of every API error response. */
export interface ApiErrorBody {
  error: ErrorInfo;
}

/** Admins see the fleet; a tenant key sees that tenant's sandboxes only. */
export type Role = 'admin' | 'tenant';
