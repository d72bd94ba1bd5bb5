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

export const NODE_STATES: readonly NodeState[] = ['ready', 'cordoned', 'draining', 'down', 'unknown'];
