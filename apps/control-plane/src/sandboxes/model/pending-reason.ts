/**
 * Why the scheduler could not place a sandbox, from the nodes of the batch that last tried.
 * The codes are exhaustive: a placement fails only for want of a ready node, of one carrying
 * the selector's labels, or of room on one of those (anti-affinity only orders the choice).
 */
export const PENDING_REASON_CODES = [
  /** No node is ready (none joined, or all are down, unknown, cordoned or draining). */
  'NO_READY_NODE',
  /** Nodes are ready, but none carries every label of its `nodeSelector`. */
  'NO_MATCHING_NODE',
  /** No matching node has its vCPUs free. */
  'INSUFFICIENT_VCPUS',
  /** No matching node has its memory (with the node's overhead per sandbox) free. */
  'INSUFFICIENT_MEMORY',
  /** Some matching node has the vCPUs free and some the memory, but none both. */
  'INSUFFICIENT_RESOURCES',
] as const;
export type PendingReasonCode = (typeof PENDING_REASON_CODES)[number];

export interface PendingReason {
  code: PendingReasonCode;
  message: string;
}

/** Whether two reasons say the same (so the stored one need not be written again). */
export function samePendingReason(a: PendingReason | null, b: PendingReason | null): boolean {
  return a === b || (a !== null && b !== null && a.code === b.code && a.message === b.message);
}
