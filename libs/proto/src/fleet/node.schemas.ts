/** A node agent's side of joining and staying in the fleet: who it is, what it offers, that it lives. */
import { z } from 'zod';
import { ipv4Schema } from './sandbox-fences';
import {
  MAX_CONTAINERD_NAME_LENGTH,
  MAX_CONTAINERD_SANDBOXES,
  MAX_CPU_OVERCOMMIT,
  MAX_NODE_NAME_LENGTH,
  MAX_SANDBOX_OVERHEAD_MIB,
  MAX_WARM_POOL_SHAPES,
  MAX_WARM_POOL_VMS,
} from '../limits/fleet.limits';
import { MAX_MEMORY_MIB, MAX_VCPUS } from '../limits/sandbox.limits';

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

/** How many VMs of one shape a node keeps restored and waiting (its MOAT_WARM_POOL). */
export const warmPoolSizeSchema = z.object({
  vcpus: z.number().int().min(1).max(MAX_VCPUS),
  memoryMiB: z.number().int().min(1).max(MAX_MEMORY_MIB),
  count: z.number().int().min(1).max(MAX_WARM_POOL_VMS),
});
export type WarmPoolSize = z.infer<typeof warmPoolSizeSchema>;

export const nodeHelloSchema = z.object({
  name: z.string().min(1).max(MAX_NODE_NAME_LENGTH),
  capacity: capacitySchema,
  accel: acceleratorSchema,
  hypervisors: z.array(z.string().min(1).max(64)).max(16),
  agentVersion: z.string().max(64),
  /** Whether the node jails its VMMs (false only under MOAT_JAIL=false, for debugging). */
  jailed: z.boolean(),
  /**
   * What each sandbox costs the node beyond its memoryMiB: its VMM's own memory, which the
   * node also puts in the VM's cgroup limit. Absent (older agents): 0.
   */
  sandboxOverheadMiB: z.number().int().nonnegative().max(MAX_SANDBOX_OVERHEAD_MIB).optional(),
  /**
   * How many vCPUs the node offers per host CPU (its MOAT_NODE_CPU_OVERCOMMIT). Absent (older
   * agents): the control plane's MOAT_CPU_OVERCOMMIT.
   */
  cpuOvercommit: z.number().positive().max(MAX_CPU_OVERCOMMIT).optional(),
  /** Memory the node keeps for its host and offers to no sandbox. Absent (older agents): 0. */
  memoryReserveMiB: z.number().int().nonnegative().optional(),
  /**
   * Its warm pool when full: VMs that hold the node's memory (each its memoryMiB plus
   * sandboxOverheadMiB) and vCPUs before any sandbox has them. Absent (older agents): none.
   */
  warmPool: z.array(warmPoolSizeSchema).max(MAX_WARM_POOL_SHAPES).optional(),
  /**
   * The node's underlay address (its MOAT_NODE_ADDRESS): where other nodes send its tenants'
   * overlay traffic. Absent: the address the control plane sees the connection come from.
   */
  address: ipv4Schema.optional(),
});
export type NodeHello = z.infer<typeof nodeHelloSchema>;

/** How containerd names a task: its namespace and its id there. */
export const containerdTaskRefSchema = z.object({
  namespace: z.string().min(1).max(MAX_CONTAINERD_NAME_LENGTH),
  id: z.string().min(1).max(MAX_CONTAINERD_NAME_LENGTH),
});
export type ContainerdTaskRef = z.infer<typeof containerdTaskRefSchema>;

/** The states a containerd task's sandbox VM can be in (containerd never hibernates one). */
export const CONTAINERD_SANDBOX_STATES = ['creating', 'running', 'stopping', 'failed'] as const;
export type ContainerdSandboxState = (typeof CONTAINERD_SANDBOX_STATES)[number];

export function isContainerdSandboxState(state: string): state is ContainerdSandboxState {
  return (CONTAINERD_SANDBOX_STATES as readonly string[]).includes(state);
}

/**
 * A sandbox VM containerd started on the node (`ctr run --runtime io.containerd.moat.v2`):
 * containerd owns it, the control plane only counts and shows it. Its size is what it holds of
 * the node (its memoryMiB plus the node's sandboxOverheadMiB, and its vCPUs).
 */
export const containerdSandboxSchema = z.object({
  /** The node's sandbox id of the VM (a UUID of its own, not containerd's). */
  id: z.string().uuid(),
  containerd: containerdTaskRefSchema,
  vcpus: z.number().int().min(1).max(MAX_VCPUS),
  memoryMiB: z.number().int().min(1).max(MAX_MEMORY_MIB),
  state: z.enum(CONTAINERD_SANDBOX_STATES),
  /** Since when it is in that state, as the node saw it (RFC 3339). */
  since: z.string().datetime(),
});
export type ContainerdSandbox = z.infer<typeof containerdSandboxSchema>;

export const nodeHeartbeatSchema = z.object({
  /** Ids of the sandboxes the control plane placed that the node currently runs (any state but gone). */
  sandboxIds: z.array(z.string()).max(100_000),
  /**
   * Every sandbox containerd started on the node, as of this beat (the whole list each time:
   * one that is gone is no longer listed). Absent (older agents): none.
   */
  containerd: z.array(containerdSandboxSchema).max(MAX_CONTAINERD_SANDBOXES).optional(),
});
export type NodeHeartbeat = z.infer<typeof nodeHeartbeatSchema>;

/** How a drain empties the node: replace deployments' replicas (and leave the rest), or live-migrate what can migrate first. */
export const DRAIN_MODES = ['replace', 'migrate'] as const;
export type DrainMode = (typeof DRAIN_MODES)[number];
