import type { Capacity } from '@moat/proto';
import type { SchedulerStrategy } from '../config/app-config';
import type { PendingReason } from '../sandboxes/model/pending-reason';
import { LoadHeap } from './load-heap';
import { allocatable, type HeldSize, type NodeSizing, type OvercommitFallback } from './node-offer';
import { unplacedReason } from './unplaced-reason';

/**
 * How many of the best-ranked nodes a plain request looks at in rank order before falling
 * back to a full scan (when most nodes are too full for it, say).
 */
const RANKED_PROBES = 64;

/** A schedulable node as the scheduler sees it during one batch. */
export interface Candidate {
  id: string;
  capacity: Capacity;
  /** What it reserves for its sandboxes: their vCPUs, and their memory plus its overhead for each. */
  allocated: Capacity;
  /** What its hello said it offers beyond its capacity (NO_SIZING: an older agent). */
  sizing: NodeSizing;
  /** VMs containerd started there (their size): not offered to sandboxes. Absent: none. */
  containerd?: readonly HeldSize[];
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

export interface PlacementPolicy extends OvercommitFallback {
  strategy: SchedulerStrategy;
}

/** Whether the node carries every label of the selector. */
export function matchesSelector(labels: Record<string, string>, selector: Record<string, string>): boolean {
  for (const key in selector) if (labels[key] !== selector[key]) return false;
  return true;
}

/** How full a node is in one dimension, as a fraction of what it offers. */
function fraction(used: number, offered: number): number {
  return offered > 0 ? used / offered : 1;
}

const byId = (a: Candidate, b: Candidate): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * A batch's schedulable nodes, laid out for placing many sandboxes in a row. It picks, among
 * the nodes that match a request's selector and have room (what a node offers: `allocatable`;
 * a sandbox takes its vCPUs, and its memory plus the node's overhead per sandbox): first the
 * fewest sandboxes with the same anti-affinity key (replicas spread even when there are more of
 * them than nodes), then by strategy — `spread` the least loaded node, `binpack` the most loaded
 * one — and ties to the lower id, to keep the choice stable.
 *
 * A plain request (no selector, no anti-affinity key) takes the first node with room in rank
 * order, kept in a heap: O(log n) per placement. Others scan every node (10,000 sandboxes
 * over 10,000 nodes is 10^8 steps), so the numbers live in typed arrays. Nodes are kept in
 * id order, which makes the first of equally good nodes the one with the lower id. Booking
 * writes through to the candidates.
 */
export class PlacementTable {
  private readonly nodes: readonly Candidate[];
  private readonly offeredVcpus: Float64Array;
  private readonly offeredMemory: Float64Array;
  private readonly usedVcpus: Float64Array;
  private readonly usedMemory: Float64Array;
  /** Each node's memory cost per sandbox beyond its memoryMiB. */
  private readonly overhead: Float64Array;
  /** Each node's rank: its load, negated under binpack (lower ranks first). */
  private readonly rank: Float64Array;
  private readonly ranked: LoadHeap;
  private readonly sign: number;
  /**
   * Reasons given since the last booking, by request shape: a backlog of sandboxes that fit
   * nowhere costs one scan per shape, not one per sandbox.
   */
  private readonly reasons = new Map<string, PendingReason>();
  /**
   * Request sizes no node had room for, by node selector. Room only shrinks in a table, so a
   * request at least as large fits nowhere either: a backlog that fits nowhere costs one scan
   * of the nodes per size, not one per sandbox.
   */
  private readonly unfit = new Map<string, { vcpus: number; memoryMiB: number }[]>();

  constructor(candidates: readonly Candidate[], policy: PlacementPolicy) {
    const sorted = candidates.every((c, i) => i === 0 || byId(candidates[i - 1], c) < 0);
    this.nodes = sorted ? candidates : [...candidates].sort(byId);
    const n = this.nodes.length;
    this.sign = policy.strategy === 'spread' ? 1 : -1;
    this.offeredVcpus = new Float64Array(n);
    this.offeredMemory = new Float64Array(n);
    this.usedVcpus = new Float64Array(n);
    this.usedMemory = new Float64Array(n);
    this.overhead = new Float64Array(n);
    this.rank = new Float64Array(n);
    this.nodes.forEach((node, i) => {
      const { sizing } = node;
      const offered = allocatable(node.capacity, sizing, policy, node.containerd);
      this.offeredVcpus[i] = offered.vcpus;
      this.offeredMemory[i] = offered.memoryMiB;
      this.overhead[i] = sizing.sandboxOverheadMiB;
      this.usedVcpus[i] = node.allocated.vcpus;
      this.usedMemory[i] = node.allocated.memoryMiB;
      this.rank[i] = this.rankOf(i);
    });
    this.ranked = new LoadHeap(this.rank);
  }

  get size(): number {
    return this.nodes.length;
  }

  /** Chooses a node and books the request on it, so the next choice sees it. */
  place(request: PlacementRequest): Candidate | undefined {
    const i = this.indexFor(request);
    if (i < 0) return undefined;
    const node = this.nodes[i];
    const memoryMiB = request.memoryMiB + this.overhead[i];
    this.usedVcpus[i] += request.vcpus;
    this.usedMemory[i] += memoryMiB;
    node.allocated.vcpus += request.vcpus;
    node.allocated.memoryMiB += memoryMiB;
    this.rank[i] = this.rankOf(i);
    this.ranked.update(i);
    const key = request.antiAffinityKey;
    if (key) node.keyCounts.set(key, (node.keyCounts.get(key) ?? 0) + 1);
    if (this.reasons.size > 0) this.reasons.clear();
    return node;
  }

  /**
   * Why a request `place` just refused fits no node now: from the matching nodes' largest free
   * vCPUs and memory (each over the nodes, not summed: a sandbox cannot span nodes).
   */
  explain(request: PlacementRequest): PendingReason {
    const { vcpus, memoryMiB, nodeSelector } = request;
    const shape = `${vcpus}/${memoryMiB}/${selectorKey(nodeSelector)}`;
    const known = this.reasons.get(shape);
    if (known) return known;
    const selective = Object.keys(nodeSelector).length > 0;
    let matching = 0;
    let largestFreeVcpus = 0;
    // The node closest to fitting the memory: the most free beyond its own overhead.
    let memoryNode = -1;
    for (let i = 0; i < this.nodes.length; i++) {
      if (selective && !matchesSelector(this.nodes[i].labels, nodeSelector)) continue;
      largestFreeVcpus = Math.max(largestFreeVcpus, this.offeredVcpus[i] - this.usedVcpus[i]);
      if (memoryNode < 0 || this.memoryRoom(i) > this.memoryRoom(memoryNode)) memoryNode = i;
      matching++;
    }
    const reason = unplacedReason(request, {
      nodes: this.nodes.length,
      matching,
      largestFreeVcpus,
      largestFreeMemoryMiB: memoryNode < 0 ? 0 : this.offeredMemory[memoryNode] - this.usedMemory[memoryNode],
      memoryOverheadMiB: memoryNode < 0 ? 0 : this.overhead[memoryNode],
    });
    this.reasons.set(shape, reason);
    return reason;
  }

  private indexFor(request: PlacementRequest): number {
    const { vcpus, memoryMiB, nodeSelector } = request;
    // Placements that succeed, the usual case, never pay for the selector's key.
    const unfit = this.unfit.size > 0 ? this.unfit.get(selectorKey(nodeSelector)) : undefined;
    if (unfit?.some((size) => vcpus >= size.vcpus && memoryMiB >= size.memoryMiB)) return -1;
    const found = this.search(request);
    if (found < 0) this.unfit.set(selectorKey(nodeSelector), [...(unfit ?? []), { vcpus, memoryMiB }]);
    return found;
  }

  private search(request: PlacementRequest): number {
    const { vcpus, memoryMiB, nodeSelector, antiAffinityKey: key } = request;
    const selective = Object.keys(nodeSelector).length > 0;
    if (!selective && !key) {
      const first = this.ranked.first((i) => this.fits(i, vcpus, memoryMiB), RANKED_PROBES);
      if (first !== undefined) return first;
    }
    let best = -1;
    let bestKeyCount = 0;
    let bestLoad = 0;
    for (let i = 0; i < this.nodes.length; i++) {
      if (!this.fits(i, vcpus, memoryMiB)) continue;
      if (selective && !matchesSelector(this.nodes[i].labels, nodeSelector)) continue;
      const keyCount = key ? (this.nodes[i].keyCounts.get(key) ?? 0) : 0;
      const load = this.rank[i];
      // Strictly better only: of equals, the first (lower id) stays.
      if (best < 0 || keyCount < bestKeyCount || (keyCount === bestKeyCount && load < bestLoad)) {
        best = i;
        bestKeyCount = keyCount;
        bestLoad = load;
      }
    }
    return best;
  }

  private fits(i: number, vcpus: number, memoryMiB: number): boolean {
    return this.offeredVcpus[i] - this.usedVcpus[i] >= vcpus && this.memoryRoom(i) >= memoryMiB;
  }

  /** Memory free on node i for a sandbox's own memoryMiB. */
  private memoryRoom(i: number): number {
    return this.offeredMemory[i] - this.usedMemory[i] - this.overhead[i];
  }

  private rankOf(i: number): number {
    return this.sign * Math.max(fraction(this.usedVcpus[i], this.offeredVcpus[i]), fraction(this.usedMemory[i], this.offeredMemory[i]));
  }
}

/** A node selector as a map key (requests made alike name their labels in the same order). */
function selectorKey(nodeSelector: PlacementRequest['nodeSelector']): string {
  return JSON.stringify(nodeSelector);
}
