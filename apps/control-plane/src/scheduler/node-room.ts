import type { Capacity } from '@moat/proto';
import type { EntityManager } from 'typeorm';
import { loadAllocations, NOTHING_ALLOCATED } from './allocation';
import { allocatable, NO_SIZING, reserved, type HeldSize, type NodeSizing, type OvercommitFallback } from './node-offer';
import { vcpuWord } from './unplaced-reason';

/** What one node has left for more sandboxes, counted as the scheduler counts it. */
export interface NodeRoom {
  /** What it offers less what its sandboxes reserve (their vCPUs, their memory plus its overhead each); negative when overbooked. */
  free: Capacity;
  /** Memory each more sandbox costs it beyond its `memoryMiB`. */
  overheadMiB: number;
}

/**
 * The node's room now, in the caller's transaction: for sandboxes that can only go to this node
 * (a fork's clones), which the scheduler's placement never sees. The caller holds the scheduler's
 * lock (bumpSchedulerEpoch), so no batch books the node meanwhile.
 */
export async function loadNodeRoom(
  manager: EntityManager,
  node: { id: string; capacity: Capacity; sizing: NodeSizing | null; containerdSandboxes: readonly HeldSize[] | null },
  fallback: OvercommitFallback,
): Promise<NodeRoom> {
  const sizing = node.sizing ?? NO_SIZING;
  const offered = allocatable(node.capacity, sizing, fallback, node.containerdSandboxes ?? []);
  const allocation = (await loadAllocations(manager, [node.id])).get(node.id);
  const used = allocation ? reserved(allocation, allocation.vms, sizing) : NOTHING_ALLOCATED;
  return { free: { vcpus: offered.vcpus - used.vcpus, memoryMiB: offered.memoryMiB - used.memoryMiB }, overheadMiB: sizing.sandboxOverheadMiB };
}

/** What `count` more sandboxes of `size` would lack in `room` (the scheduler's fit, for all of them at once); undefined when they fit. */
export function roomShortfall(room: NodeRoom, size: Capacity, count: number): string | undefined {
  const vcpus = size.vcpus * count;
  const memoryMiB = (size.memoryMiB + room.overheadMiB) * count;
  const short: string[] = [];
  if (vcpus > room.free.vcpus) short.push(`${vcpus} ${vcpuWord(vcpus)} needed, ${Math.max(0, room.free.vcpus)} free`);
  if (memoryMiB > room.free.memoryMiB) {
    const each = room.overheadMiB > 0 ? `${size.memoryMiB} MiB + ${room.overheadMiB} MiB overhead` : `${size.memoryMiB} MiB`;
    short.push(`${memoryMiB} MiB needed (${count} × ${each}), ${Math.max(0, room.free.memoryMiB)} MiB free`);
  }
  return short.length > 0 ? short.join('; ') : undefined;
}
