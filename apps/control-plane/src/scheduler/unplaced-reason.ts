import type { PendingReason } from '../sandboxes/model/pending-reason';

/** What a batch's nodes looked like to a request that fit none of them. */
export interface UnplacedFacts {
  /** Ready (schedulable) nodes. */
  nodes: number;
  /** Of those, the ones carrying every label of the request's selector. */
  matching: number;
  /** The most vCPUs free on one matching node. */
  largestFreeVcpus: number;
  /** The memory free on the matching node with the most room for a sandbox's own memory, MiB. */
  largestFreeMemoryMiB: number;
  /** That node's memory cost per sandbox beyond its memoryMiB (its VMM), MiB. */
  memoryOverheadMiB: number;
}

/** The request as the reason names it. */
export interface UnplacedRequest {
  vcpus: number;
  memoryMiB: number;
  nodeSelector: Record<string, string>;
}

/**
 * Says why a request fits no node, in the order an operator would look: no ready node at all,
 * none with the labels, then which resource no matching node has enough of. Figures are per
 * node (the largest free over the matching nodes), since a sandbox cannot span nodes.
 */
export function unplacedReason(request: UnplacedRequest, facts: UnplacedFacts): PendingReason {
  if (facts.nodes === 0) return { code: 'NO_READY_NODE', message: 'no node is ready' };
  const labels = Object.entries(request.nodeSelector).map(([key, value]) => `${key}=${value}`);
  if (facts.matching === 0) {
    return { code: 'NO_MATCHING_NODE', message: `no ready node carries the label${labels.length === 1 ? '' : 's'} ${labels.join(', ')}` };
  }
  const where = labels.length === 0 ? 'no ready node' : `no ready node carrying ${labels.join(', ')}`;
  const vcpusShort = facts.largestFreeVcpus < request.vcpus;
  const memoryShort = facts.largestFreeMemoryMiB < request.memoryMiB + facts.memoryOverheadMiB;
  const overhead = facts.memoryOverheadMiB;
  const memory = overhead > 0 ? `${request.memoryMiB + overhead} MiB free (${request.memoryMiB} MiB + ${overhead} MiB overhead)` : `${request.memoryMiB} MiB free`;
  const freeVcpus = Math.max(0, facts.largestFreeVcpus);
  const freeMemory = Math.max(0, facts.largestFreeMemoryMiB);
  if (vcpusShort) {
    return { code: 'INSUFFICIENT_VCPUS', message: `${where} has ${request.vcpus} free ${vcpuWord(request.vcpus)}; largest free: ${freeVcpus}` };
  }
  if (memoryShort) {
    return { code: 'INSUFFICIENT_MEMORY', message: `${where} has ${memory}; largest free: ${freeMemory} MiB` };
  }
  return {
    code: 'INSUFFICIENT_RESOURCES',
    message: `${where} has both ${request.vcpus} free ${vcpuWord(request.vcpus)} and ${memory}; largest free: ${freeVcpus} ${vcpuWord(freeVcpus)} on one node, ${freeMemory} MiB on one node`,
  };
}

/** `vCPU` or `vCPUs`, for `n` of them. */
export function vcpuWord(n: number): string {
  return n === 1 ? 'vCPU' : 'vCPUs';
}
