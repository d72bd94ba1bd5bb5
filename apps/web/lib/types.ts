// The control plane's REST representations, as the dashboard uses them. Web never imports
// server code (Nx boundary `scope:web`), so these mirror the API contract by hand.

export type NodeState = 'ready' | 'cordoned' | 'down';
export type Accelerator = 'kvm' | 'tcg';

export interface Resources {
  vcpus: number;
  memoryMiB: number;
}

export interface FleetNode {
  id: string;
  name: string;
  state: NodeState;
  capacity: Resources;
  allocated: Resources;
  accel: Accelerator;
  hypervisors: string[];
  /** ISO 8601. */
  lastHeartbeatAt: string;
}

export type SandboxState = 'pending' | 'creating' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface PhaseTiming {
  phase: string;
  ms: number;
}

export interface ErrorInfo {
  code: string;
  message: string;
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
  /** How the rootfs reaches the VM; null: the node's default. */
  rootfs?: 'virtiofs' | '9p' | 'block' | null;
  /** Image pull progress, while creating. */
  progress?: { phase: 'pull'; bytesDone: number; bytesTotal: number };
  env: Record<string, string>;
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  timings: PhaseTiming[];
  error?: ErrorInfo | null;
  guest?: { kernelRelease: string; agentVersion: string } | null;
}

export interface CreateSandboxRequest {
  vcpus?: number;
  memoryMiB?: number;
  image?: string;
  env?: Record<string, string>;
  labels?: Record<string, string>;
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

/** Body of every API error response. */
export interface ApiErrorBody {
  error: ErrorInfo;
}

/** Admins see the fleet; a tenant key sees that tenant's sandboxes only. */
export type Role = 'admin' | 'tenant';
