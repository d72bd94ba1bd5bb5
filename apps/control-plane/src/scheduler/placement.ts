import type { Capacity } from '@moat/proto';

export interface Candidate {
  id: string;
  capacity: Capacity;
  allocated: Capacity;
}

function fits(request: Capacity, node: Candidate): boolean {
  return (
    node.capacity.vcpus - node.allocated.vcpus >= request.vcpus &&
    node.capacity.memoryMiB - node.allocated.memoryMiB >= request.memoryMiB
  );
}

/** How full a node is: its fuller dimension, as a fraction of capacity. */
function load(node: Candidate): number {
  const ratio = (used: number, total: number): number => (total > 0 ? used / total : 1);
  return Math.max(ratio(node.allocated.vcpus, node.capacity.vcpus), ratio(node.allocated.memoryMiB, node.capacity.memoryMiB));
}

/**
 * The node for a request: among the ready nodes with room, the one with the fewest
 * `peers` (replicas of the same deployment: anti-affinity), then the least loaded, so that
 * sandboxes spread over the fleet. Ties go to the lower id, to keep the choice stable.
 */
export function chooseNode(
  request: Capacity,
  candidates: readonly Candidate[],
  peers: (nodeId: string) => number = () => 0,
): Candidate | undefined {
  let best: Candidate | undefined;
  let bestPeers = 0;
  for (const node of candidates) {
    if (!fits(request, node)) continue;
    const nodePeers = peers(node.id);
    const better =
      !best ||
      nodePeers < bestPeers ||
      (nodePeers === bestPeers && (load(node) < load(best) || (load(node) === load(best) && node.id < best.id)));
    if (better) {
      best = node;
      bestPeers = nodePeers;
    }
  }
  return best;
}
