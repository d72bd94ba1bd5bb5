/**
 * The fleet protocol: socket.io events between the control plane and node agents
 * (namespace `/agents`) and between the control plane and dashboards (namespace `/ui`).
 *
 * Desired state is level-triggered (like a kubelet): after every (re)connect, and after
 * every change, the control plane sends a node the *full* set of sandboxes it should run.
 * A sandbox missing from the set is to be deleted. Every payload crossing a process
 * boundary is validated with these zod schemas on receipt.
 */
import { z } from 'zod';

/** Socket.io namespaces. */
export const AGENTS_NAMESPACE = '/agents';
export const UI_NAMESPACE = '/ui';

/** Sandbox lifecycle states as the API reports them. */
/** `unknown`: its node went silent, so nobody can tell; it stays placed there (never placed twice). */
export const SANDBOX_STATES = ['pending', 'creating', 'running', 'stopping', 'stopped', 'failed', 'unknown'] as const;
export const sandboxStateSchema = z.enum(SANDBOX_STATES);
export type SandboxState = z.infer<typeof sandboxStateSchema>;

/** Node states as the API reports them. */
export const NODE_STATES = ['ready', 'cordoned', 'draining', 'down'] as const;
export const nodeStateSchema = z.enum(NODE_STATES);
export type NodeState = z.infer<typeof nodeStateSchema>;

export const acceleratorSchema = z.enum(['kvm', 'tcg']);
export type Accelerator = z.infer<typeof acceleratorSchema>;

export const capacitySchema = z.object({
  vcpus: z.number().int().nonnegative(),
  memoryMiB: z.number().int().nonnegative(),
});
export type Capacity = z.infer<typeof capacitySchema>;

/** Duration of each sandbox start phase, in milliseconds, in the order they ran. */
export const phaseTimingSchema = z.object({
  phase: z.string().min(1).max(64),
  ms: z.number().nonnegative(),
});
export type PhaseTiming = z.infer<typeof phaseTimingSchema>;

export const errorInfoSchema = z.object({
  code: z.string().min(1).max(64),
  message: z.string().max(4096),
});
export type ErrorInfo = z.infer<typeof errorInfoSchema>;

/** How a sandbox's container rootfs reaches its VM. */
export const ROOTFS_KINDS = ['virtiofs', '9p', 'block'] as const;
export const rootfsKindSchema = z.enum(ROOTFS_KINDS);
export type RootfsKind = z.infer<typeof rootfsKindSchema>;

/** Image pull progress of a sandbox that is being created. */
export const sandboxProgressSchema = z.object({
  phase: z.literal('pull'),
  bytesDone: z.number().int().nonnegative(),
  bytesTotal: z.number().int().nonnegative(),
});
export type SandboxProgress = z.infer<typeof sandboxProgressSchema>;

// ---- agent → control plane ------------------------------------------------------------

/**
 * Sent by the agent as the socket.io handshake `auth` object. `token` is the node's own
 * credential (from `POST /v1/nodes/join`), or the admin token on a single-host install.
 */
export const agentAuthSchema = z.object({
  token: z.string().min(1),
  /** Stable node id, kept in the agent's data dir across restarts. */
  nodeId: z.string().uuid(),
});
export type AgentAuth = z.infer<typeof agentAuthSchema>;

export const nodeHelloSchema = z.object({
  name: z.string().min(1).max(253),
  capacity: capacitySchema,
  accel: acceleratorSchema,
  hypervisors: z.array(z.string().min(1).max(64)).max(16),
  agentVersion: z.string().max(64),
});
export type NodeHello = z.infer<typeof nodeHelloSchema>;

export const nodeHeartbeatSchema = z.object({
  /** Ids of the sandboxes the node currently runs (any state but gone). */
  sandboxIds: z.array(z.string()).max(100_000),
});
export type NodeHeartbeat = z.infer<typeof nodeHeartbeatSchema>;

/** Observed state of one sandbox on a node. `gone` means everything it used is released. */
export const OBSERVED_STATES = ['creating', 'running', 'stopping', 'stopped', 'failed', 'gone'] as const;
export const observedStateSchema = z.enum(OBSERVED_STATES);
export type ObservedState = z.infer<typeof observedStateSchema>;

export const sandboxStatusSchema = z.object({
  id: z.string().uuid(),
  state: observedStateSchema,
  timings: z.array(phaseTimingSchema).max(64),
  error: errorInfoSchema.optional(),
  /** The guest's kernel release and similar details, once the agent answered. */
  guest: z
    .object({ kernelRelease: z.string().max(256), agentVersion: z.string().max(64) })
    .optional(),
  /** While an image is being pulled. */
  progress: sandboxProgressSchema.optional(),
});
export type SandboxStatus = z.infer<typeof sandboxStatusSchema>;

// ---- control plane → agent ------------------------------------------------------------

export const desiredSandboxSchema = z.object({
  id: z.string().uuid(),
  vcpus: z.number().int().min(1).max(64),
  memoryMiB: z.number().int().min(64).max(262_144),
  image: z.string().max(1024).optional(),
  /** Replaces the image's Entrypoint and Cmd. */
  command: z.array(z.string().max(65_536)).min(1).max(4096).optional(),
  rootfs: rootfsKindSchema.optional(),
  env: z.record(z.string(), z.string()),
  labels: z.record(z.string(), z.string()),
});
export type DesiredSandbox = z.infer<typeof desiredSandboxSchema>;

export const desiredStateSchema = z.object({
  sandboxes: z.array(desiredSandboxSchema),
});
export type DesiredState = z.infer<typeof desiredStateSchema>;

export const execRequestSchema = z.object({
  sandboxId: z.string().uuid(),
  command: z.array(z.string()).min(1).max(4096),
  stdin: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().max(4096).optional(),
  timeoutMs: z.number().int().positive().max(3_600_000).optional(),
});
export type ExecRequest = z.infer<typeof execRequestSchema>;

export const execResultSchema = z.object({
  exitCode: z.number().int(),
  stdout: z.string(),
  stderr: z.string(),
});
export type ExecResult = z.infer<typeof execResultSchema>;

/** Replies to acknowledged requests carry either a result or an error. */
export type AckReply<T> = { ok: true; result: T } | { ok: false; error: ErrorInfo };

/** Events the control plane emits to a node agent. */
export interface ControlPlaneToAgentEvents {
  'sandboxes:desired': (state: DesiredState) => void;
  'sandbox:exec': (req: ExecRequest, ack: (reply: AckReply<ExecResult>) => void) => void;
}

/** Events a node agent emits to the control plane. */
export interface AgentToControlPlaneEvents {
  'node:hello': (hello: NodeHello, ack: (reply: AckReply<{ nodeId: string }>) => void) => void;
  'node:heartbeat': (hb: NodeHeartbeat) => void;
  'sandbox:status': (status: SandboxStatus) => void;
}

// ---- control plane → dashboards -------------------------------------------------------

/** Events pushed to dashboards; payloads are the REST representations. */
export interface UiEvents {
  'sandbox:updated': (sandbox: unknown) => void;
  'sandbox:deleted': (ref: { id: string }) => void;
  'node:updated': (node: unknown) => void;
  'tenant:updated': (tenant: unknown) => void;
  'audit:appended': (entry: unknown) => void;
}
