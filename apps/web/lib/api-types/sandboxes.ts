// Sandboxes, exec and their settings as the API shows them.

export const SANDBOX_STATES = ['pending', 'creating', 'running', 'stopping', 'stopped', 'failed', 'unknown'] as const;
export type SandboxState = (typeof SANDBOX_STATES)[number];
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

/** Why the scheduler could not place a sandbox yet (see docs/api.md). */
export type PendingReasonCode = 'NO_READY_NODE' | 'NO_MATCHING_NODE' | 'INSUFFICIENT_VCPUS' | 'INSUFFICIENT_MEMORY' | 'INSUFFICIENT_RESOURCES';

export interface PendingReason {
  code: PendingReasonCode;
  message: string;
}

export interface Sandbox {
  id: string;
  tenantId: string;
  /** Null while the scheduler has not placed the sandbox yet. */
  nodeId: string | null;
  state: SandboxState;
  /** Why it is not placed yet, as of the scheduler's last try; null once placed. */
  pendingReason?: PendingReason | null;
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
