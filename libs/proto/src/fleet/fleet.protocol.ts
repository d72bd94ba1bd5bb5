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
import { dnsConfigSchema, egressPolicySchema, sandboxIsolationSchema } from './sandbox-fences';

/** Socket.io namespaces. */
export const AGENTS_NAMESPACE = '/agents';
export const UI_NAMESPACE = '/ui';

/** Sandbox lifecycle states as the API reports them. */
/** `unknown`: its node went silent, so nobody can tell; it stays placed there (never placed twice). */
export const SANDBOX_STATES = ['pending', 'creating', 'running', 'stopping', 'stopped', 'failed', 'unknown'] as const;
export const sandboxStateSchema = z.enum(SANDBOX_STATES);
export type SandboxState = z.infer<typeof sandboxStateSchema>;

/**
 * Node states as the API reports them. `unknown`: the control plane started and the node has
 * not said hello since, so nobody can tell; nothing new is placed there, and its sandboxes keep
 * their last known state (never placed twice) until it says hello or goes `down`.
 */
export const NODE_STATES = ['ready', 'cordoned', 'draining', 'down', 'unknown'] as const;
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

/** How a sandbox VM's NIC joins the node's CNI network. */
export const NETWORK_MODELS = ['tcfilter', 'macvtap', 'bridge'] as const;
export const networkModelSchema = z.enum(NETWORK_MODELS);
export type NetworkModel = z.infer<typeof networkModelSchema>;

/** A sandbox port published on its node; `hostPort` is picked by the node when not asked for. */
export const portSpecSchema = z.object({
  containerPort: z.number().int().min(1).max(65535),
  hostPort: z.number().int().min(1).max(65535).optional(),
  protocol: z.enum(['tcp', 'udp']),
});
export type PortSpec = z.infer<typeof portSpecSchema>;
export const publishedPortSchema = portSpecSchema.required();
export type PublishedPort = z.infer<typeof publishedPortSchema>;
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
  /** Whether the node jails its VMMs (false only under MOAT_JAIL=false, for debugging). */
  jailed: z.boolean(),
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

/** How the host reaches a sandbox's guest agent. */
export const agentTransportSchema = z.enum(['vsock', 'hybrid-vsock', 'virtio-serial']);
export type AgentTransportName = z.infer<typeof agentTransportSchema>;

export const sandboxStatusSchema = z.object({
  id: z.string().uuid(),
  state: observedStateSchema,
  transport: agentTransportSchema.optional(),
  timings: z.array(phaseTimingSchema).max(64),
  error: errorInfoSchema.optional(),
  /** The guest's kernel release and similar details, once the agent answered. */
  guest: z
    .object({ kernelRelease: z.string().max(256), agentVersion: z.string().max(64) })
    .optional(),
  /** The guest's address on its tenant network and the ports published for it, once plumbed. */
  network: z.object({ ip: z.string().regex(/^[0-9a-fA-F.:]{2,45}$/), ports: z.array(publishedPortSchema).max(64) }).optional(),
  /** While an image is being pulled. */
  progress: sandboxProgressSchema.optional(),
  /** How its VMM is fenced, once its jail is set up. */
  isolation: sandboxIsolationSchema.optional(),
  /**
   * The desired `restartCount` the node started this incarnation with: the control plane
   * ignores reports about an incarnation older than the one it asked for. Absent: current.
   */
  restartCount: z.number().int().nonnegative().optional(),
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
  tenantId: z.string().uuid().optional(),
  /** Absent: the node's `MOAT_NETWORK_MODEL`. */
  networkModel: networkModelSchema.optional(),
  /** false: no NIC at all. Default true. */
  network: z.boolean().optional(),
  ports: z.array(portSpecSchema).max(64).optional(),
  /** Where its traffic may go; absent: everywhere but the node itself, link-local and other tenants. */
  egress: egressPolicySchema.optional(),
  /** Its resolvers; absent: the node's. */
  dns: dnsConfigSchema.optional(),
  /**
   * How often the control plane has had it restarted (its restart policy). A node holding it
   * `failed` restarts it — deletes it and creates it again from this spec, under the same id —
   * when this is higher than the count it last started it with. Absent: 0.
   */
  restartCount: z.number().int().nonnegative().optional(),
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
  /** Run on a pseudo-terminal: stderr arrives merged into stdout. */
  tty: z.boolean().optional(),
});
export type ExecRequest = z.infer<typeof execRequestSchema>;

export const execResultSchema = z.object({
  exitCode: z.number().int(),
  stdout: z.string(),
  stderr: z.string(),
  /** The signal that killed the process, 0 if it exited. */
  signal: z.number().int().min(0).max(64).optional(),
  timedOut: z.boolean().optional(),
  oomKilled: z.boolean().optional(),
});
export type ExecResult = z.infer<typeof execResultSchema>;

const counter = z.number().int().nonnegative();

/** A container's live resource use, as `GET /v1/sandboxes/:id/stats` returns it. */
export const sandboxStatsSchema = z.object({
  cpu: z.object({ usageUsec: counter, userUsec: counter, systemUsec: counter }),
  memory: z.object({ currentBytes: counter, maxBytes: counter, limitBytes: counter }),
  pids: z.object({ current: counter, limit: counter }),
  io: z.object({ readBytes: counter, writeBytes: counter }),
  /** When the node read the counters (ISO 8601). */
  at: z.string().datetime(),
});
export type SandboxStats = z.infer<typeof sandboxStatsSchema>;

export const sandboxRefSchema = z.object({ sandboxId: z.string().uuid() });
export type SandboxRef = z.infer<typeof sandboxRefSchema>;

/** Freeze or thaw the sandbox's container (`paused: false` resumes it). */
export const sandboxPauseSchema = z.object({ sandboxId: z.string().uuid(), paused: z.boolean() });
export type SandboxPause = z.infer<typeof sandboxPauseSchema>;

// ---- interactive sessions (attach) ----------------------------------------------------

/**
 * One interactive process (a shell on a TTY, or a pipe session), relayed client ↔ control
 * plane (namespace `/attach`) ↔ node agent (`/agents`) ↔ guest agent. Output chunks are
 * acknowledged end to end: the node reads the next chunk from the guest only once the
 * client has acknowledged the previous one, so a slow client slows the process, not memory.
 */
export const windowSizeSchema = z.object({
  rows: z.number().int().min(1).max(10_000),
  cols: z.number().int().min(1).max(10_000),
});
export type WindowSizeDto = z.infer<typeof windowSizeSchema>;

/** What a client asks for in `attach:start`. */
export const attachStartSchema = z.object({
  sandboxId: z.string().uuid(),
  /** Default: `/bin/sh`. */
  command: z.array(z.string()).min(1).max(4096).optional(),
  /** Default true. */
  tty: z.boolean().optional(),
  window: windowSizeSchema.optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().max(4096).optional(),
});
export type AttachStart = z.infer<typeof attachStartSchema>;

export const sessionIdSchema = z.string().uuid();

export const sessionOpenSchema = attachStartSchema.extend({ sessionId: sessionIdSchema });
export type SessionOpen = z.infer<typeof sessionOpenSchema>;

/** Largest chunk of input one event may carry; clients split bigger writes. */
export const MAX_SESSION_CHUNK_BYTES = 1024 * 1024;
const chunkSchema = z.union([z.custom<Uint8Array<ArrayBufferLike>>((value) => value instanceof Uint8Array), z.string()]).refine(
  (data) => (typeof data === 'string' ? Buffer.byteLength(data) : data.length) <= MAX_SESSION_CHUNK_BYTES,
  `a chunk may hold at most ${MAX_SESSION_CHUNK_BYTES} bytes`,
);

export const sessionInputSchema = z.object({ sessionId: sessionIdSchema, data: chunkSchema });
export type SessionInput = z.infer<typeof sessionInputSchema>;
export const sessionResizeSchema = z.object({ sessionId: sessionIdSchema, window: windowSizeSchema });
export type SessionResize = z.infer<typeof sessionResizeSchema>;
export const sessionSignalSchema = z.object({ sessionId: sessionIdSchema, signal: z.number().int().min(1).max(64) });
export type SessionSignal = z.infer<typeof sessionSignalSchema>;
export const sessionRefSchema = z.object({ sessionId: sessionIdSchema });
export type SessionRef = z.infer<typeof sessionRefSchema>;

export const outputStreamSchema = z.enum(['stdout', 'stderr']);
export const sessionOutputSchema = z.object({
  sessionId: sessionIdSchema,
  stream: outputStreamSchema,
  data: z.custom<Uint8Array<ArrayBufferLike>>((value) => value instanceof Uint8Array),
});
export type SessionOutput = z.infer<typeof sessionOutputSchema>;

export const sessionExitSchema = z.object({
  sessionId: sessionIdSchema,
  exitCode: z.number().int().min(0).max(255),
  signal: z.number().int().min(0).max(64),
  oomKilled: z.boolean(),
  timedOut: z.boolean(),
});
export type SessionExit = z.infer<typeof sessionExitSchema>;

export const sessionErrorSchema = z.object({ sessionId: sessionIdSchema, error: errorInfoSchema });
export type SessionError = z.infer<typeof sessionErrorSchema>;

/** Namespace browsers and API clients attach on (`auth: {token}`), one session per connection. */
export const ATTACH_NAMESPACE = '/attach';

/** Client → control plane events on {@link ATTACH_NAMESPACE}. */
export interface AttachClientEvents {
  'attach:start': (req: AttachStart, ack: (reply: AckReply<{ sessionId: string }>) => void) => void;
  /** Acknowledged once the guest process has the bytes: wait for it before sending more. */
  'attach:input': (data: Uint8Array | string, ack: (reply: AckReply<null>) => void) => void;
  /** Closes the process's stdin (^D on a TTY). */
  'attach:eof': () => void;
  'attach:resize': (window: WindowSizeDto) => void;
  'attach:signal': (signal: number) => void;
}

/** Control plane → client events on {@link ATTACH_NAMESPACE}. */
export interface AttachServerEvents {
  /** Acknowledge each chunk; the next one comes only after the acknowledgement. */
  'attach:output': (output: { stream: 'stdout' | 'stderr'; data: Uint8Array }, ack: (taken: boolean) => void) => void;
  'attach:exit': (exit: Omit<SessionExit, 'sessionId'>) => void;
  'attach:error': (error: ErrorInfo) => void;
}

/** Replies to acknowledged requests carry either a result or an error. */
export type AckReply<T> = { ok: true; result: T } | { ok: false; error: ErrorInfo };

/** Validates an {@link AckReply} whose result matches `result`. */
export function ackReplySchema<T extends z.ZodType>(result: T) {
  return z.discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), result }),
    z.object({ ok: z.literal(false), error: errorInfoSchema }),
  ]);
}

/** Events the control plane emits to a node agent. */
export interface ControlPlaneToAgentEvents {
  'sandboxes:desired': (state: DesiredState) => void;
  'sandbox:exec': (req: ExecRequest, ack: (reply: AckReply<ExecResult>) => void) => void;
  'sandbox:stats': (req: SandboxRef, ack: (reply: AckReply<SandboxStats>) => void) => void;
  'sandbox:pause': (req: SandboxPause, ack: (reply: AckReply<null>) => void) => void;
  'session:open': (req: SessionOpen, ack: (reply: AckReply<null>) => void) => void;
  'session:input': (req: SessionInput, ack: (reply: AckReply<null>) => void) => void;
  'session:eof': (req: SessionRef) => void;
  'session:resize': (req: SessionResize) => void;
  'session:signal': (req: SessionSignal) => void;
  'session:close': (req: SessionRef) => void;
}

/** Events a node agent emits to the control plane. */
export interface AgentToControlPlaneEvents {
  'node:hello': (hello: NodeHello, ack: (reply: AckReply<{ nodeId: string }>) => void) => void;
  'node:heartbeat': (hb: NodeHeartbeat) => void;
  'sandbox:status': (status: SandboxStatus) => void;
  /** Acknowledged (true) once the client has taken the chunk. */
  'session:output': (output: SessionOutput, ack: (taken: boolean) => void) => void;
  'session:exit': (exit: SessionExit) => void;
  'session:error': (error: SessionError) => void;
}

// ---- control plane → dashboards -------------------------------------------------------

/** Events pushed to dashboards; payloads are the REST representations. */
export interface UiEvents {
  'sandbox:updated': (sandbox: unknown) => void;
  'sandbox:deleted': (ref: { id: string }) => void;
  'node:updated': (node: unknown) => void;
  'deployment:updated': (deployment: unknown) => void;
  'deployment:deleted': (ref: { id: string }) => void;
  'rollout:updated': (rollout: unknown) => void;
  'template:updated': (template: { id: string; name: string; latestVersion: number }) => void;
  'tenant:updated': (tenant: unknown) => void;
  'audit:appended': (entry: unknown) => void;
}
