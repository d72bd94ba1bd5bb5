import type { Capacity, NodeHello, WarmPoolSize } from '@moat/proto';

/** What a node said in its hello about what it offers, beyond its real capacity. */
export interface NodeSizing {
  /** Memory each sandbox costs the node beyond its memoryMiB (its VMM's overhead). */
  sandboxOverheadMiB: number;
  /** vCPUs offered per host CPU; null: the control plane's MOAT_CPU_OVERCOMMIT (older agents). */
  cpuOvercommit: number | null;
  /** Memory the node keeps for its host. */
  memoryReserveMiB: number;
  /** VMs the node keeps restored and waiting, per shape; absent in nodes stored before it. */
  warmPool?: WarmPoolSize[];
}

/** A node that said nothing of the above (an agent older than these fields). */
export const NO_SIZING: NodeSizing = { sandboxOverheadMiB: 0, cpuOvercommit: null, memoryReserveMiB: 0, warmPool: [] };

/** The control plane's factors, for nodes that report none (MOAT_CPU_OVERCOMMIT, MOAT_MEMORY_OVERCOMMIT). */
export interface OvercommitFallback {
  cpuOvercommit: number;
  memoryOvercommit: number;
}

/** The hello's sizing fields, with the defaults of an agent that sends none. */
export function sizingOf(hello: Pick<NodeHello, 'sandboxOverheadMiB' | 'cpuOvercommit' | 'memoryReserveMiB' | 'warmPool'>): NodeSizing {
  return {
    sandboxOverheadMiB: hello.sandboxOverheadMiB ?? 0,
    cpuOvercommit: hello.cpuOvercommit ?? null,
    memoryReserveMiB: hello.memoryReserveMiB ?? 0,
    warmPool: hello.warmPool ?? [],
  };
}

/** What VMs the scheduler did not place hold on a node: their vCPUs, and their memory plus the node's overhead for each (`count` VMs of a size, default one). */
function held(vms: readonly (Capacity & { count?: number })[], overheadMiB: number): Capacity {
  return {
    vcpus: vms.reduce((sum, vm) => sum + (vm.count ?? 1) * vm.vcpus, 0),
    memoryMiB: vms.reduce((sum, vm) => sum + (vm.count ?? 1) * (vm.memoryMiB + overheadMiB), 0),
  };
}

/** What the node's warm pool holds when full. */
export function warmPoolHolds(sizing: NodeSizing): Capacity {
  return held(sizing.warmPool ?? [], sizing.sandboxOverheadMiB);
}

/** The size of a VM on the node that the scheduler did not place (a containerd task's). */
export type HeldSize = Capacity;

/** What the VMs containerd started on the node hold. */
export function containerdHolds(sandboxes: readonly HeldSize[], sizing: NodeSizing): Capacity {
  return held(sandboxes, sizing.sandboxOverheadMiB);
}

/**
 * What a node offers to sandboxes, rounded down: its host CPUs times its own factor (else the
 * control plane's), and its memory less what it keeps for the host, times the control plane's
 * memory factor; less, from both, what its warm pool holds (a pool VM is real memory and
 * counts as vCPUs like a sandbox's) and what the VMs containerd started there hold.
 */
export function allocatable(capacity: Capacity, sizing: NodeSizing, fallback: OvercommitFallback, containerd: readonly HeldSize[] = []): Capacity {
  const pool = warmPoolHolds(sizing);
  const tasks = containerdHolds(containerd, sizing);
  return {
    vcpus: Math.max(0, Math.floor(capacity.vcpus * (sizing.cpuOvercommit ?? fallback.cpuOvercommit)) - pool.vcpus - tasks.vcpus),
    memoryMiB: Math.floor(Math.max(0, capacity.memoryMiB - sizing.memoryReserveMiB - pool.memoryMiB - tasks.memoryMiB) * fallback.memoryOvercommit),
  };
}

/** What `sandboxes` sandboxes of these sizes reserve on the node: their memory plus the node's overhead for each. */
export function reserved(sum: Capacity, sandboxes: number, sizing: NodeSizing): Capacity {
  return { vcpus: sum.vcpus, memoryMiB: sum.memoryMiB + sandboxes * sizing.sandboxOverheadMiB };
}
