import type { Capacity } from '@moat/proto';
import type { SchedulerStrategy } from '../config/app-config';

/** A schedulable node as the scheduler sees it during one batch. */
export interface Candidate {
  id: string;
  capacity: Capacity;
  allocated: Capacity;
  labels: Record<string, string>;
  /** How many sandboxes of each anti-affinity key the node already runs. */
  keyCounts: Map<string, number>;
}

/** What one sandbox asks of a node. */
export interface PlacementRequest {
  vcpus: number;
  memoryMiB: number;
  nodeSelector: Record<string, string>;
  antiAffinityKey: string | null;
}

export interface PlacementPolicy {
  strategy: SchedulerStrategy;
  /** Offered capacity is the node's real capacity times these factors. */
  cpuOvercommit: number;
  memoryOvercommit: number;
}

function offered(node: Candidate, policy: PlacementPolicy): Capacity {
  return {
    vcpus: Math.floor(node.capacity.vcpus * policy.cpuOvercommit),
    memoryMiB: Math.floor(node.capacity.memoryMiB * policy.memoryOvercommit),
  };
}

function fits(request: PlacementRequest, node: Candidate, policy: PlacementPolicy): boolean {
  const room = offered(node, policy);
  return (
    room.vcpus - node.allocated.vcpus >= request.vcpus && room.memoryMiB - node.allocated.memoryMiB >= request.memoryMiB
  );
}

/** Whether the node carries every label of the selector. */
export function matchesSelector(labels: Record<string, string>, selector: Record<string, string>): boolean {
  for (const key in selector) if (labels[key] !== selector[key]) return false;
  return true;
}

/** How full a node is: its fuller dimension, as a fraction of the offered capacity. */
function load(node: Candidate, policy: PlacementPolicy): number {
  const room = offered(node, policy);
  const ratio = (used: number, total: number): number => (total > 0 ? used / total : 1);
  return Math.max(ratio(node.allocated.vcpus, room.vcpus), ratio(node.allocated.memoryMiB, room.memoryMiB));
}

/**
 * The node for a request, among those that match its selector and have room:
 * first the fewest sandboxes with the same anti-affinity key (replicas spread even when
 * there are more of them than nodes), then by strategy — `spread` the least loaded node,
 * `binpack` the most loaded one — and ties to the lower id, to keep the choice stable.
 */
export function chooseNode(
  request: PlacementRequest,
  candidates: readonly Candidate[],
  policy: PlacementPolicy,
): Candidate | undefined {
  let best: Candidate | undefined;
  let bestKeyCount = 0;
  let bestLoad = 0;
  const sign = policy.strategy === 'spread' ? 1 : -1;
  for (const node of candidates) {
    if (!matchesSelector(node.labels, request.nodeSelector) || !fits(request, node, policy)) continue;
    const keyCount = request.antiAffinityKey ? (node.keyCounts.get(request.antiAffinityKey) ?? 0) : 0;
    const nodeLoad = sign * load(node, policy);
    const better =
      !best ||
      keyCount < bestKeyCount ||
      (keyCount === bestKeyCount && (nodeLoad < bestLoad || (nodeLoad === bestLoad && node.id < best.id)));
    if (better) {
      best = node;
      bestKeyCount = keyCount;
      bestLoad = nodeLoad;
    }
  }
  return best;
}

/** Books the request on the node, so the next choice in the same batch sees it. */
export function book(node: Candidate, request: PlacementRequest): void {
  node.allocated.vcpus += request.vcpus;
  node.allocated.memoryMiB += request.memoryMiB;
  if (request.antiAffinityKey) {
    node.keyCounts.set(request.antiAffinityKey, (node.keyCounts.get(request.antiAffinityKey) ?? 0) + 1);
  }
}
