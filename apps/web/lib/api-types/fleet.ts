// Nodes as the API shows them.

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
  /** Real host CPUs and memory. */
  capacity: Resources;
  /** What it offers to sandboxes (after its CPU oversubscription and host memory reserve). */
  allocatable?: Resources;
  /** What its sandboxes reserve: their vCPUs, their memory plus sandboxOverheadMiB each. */
  allocated: Resources;
  /** Memory each sandbox costs the node beyond its memoryMiB (its VMM). */
  sandboxOverheadMiB?: number;
  /** vCPUs offered per host CPU. */
  cpuOvercommit?: number;
  /** Memory kept for the host. */
  memoryReserveMiB?: number;
  sandboxCount?: number;
  accel: Accelerator;
  hypervisors: string[];
  /** Whether it jails its VMMs; false only on a node running with MOAT_JAIL=false. */
  jailed: boolean;
  /** ISO 8601. */
  lastHeartbeatAt: string;
  createdAt?: string;
}

export const NODE_STATES: readonly NodeState[] = ['ready', 'cordoned', 'draining', 'down', 'unknown'];

/** What a node offers to sandboxes; an older control plane says only its capacity. */
export function allocatableOf(node: Pick<FleetNode, 'capacity' | 'allocatable'>): Resources {
  return node.allocatable ?? node.capacity;
}
