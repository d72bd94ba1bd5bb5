import type { Capacity } from '@moat/proto';
import { EntityManager, In } from 'typeorm';
import { heldSum, RELEASED_PARAMETERS } from '../sandboxes/model/hibernation';
import { SandboxEntity } from '../sandboxes/model/sandbox.entity';

/** The node a sandbox's vCPUs and memory are booked on: where it moves to while it moves, else its own. */
const BOOKED_NODE = 'COALESCE(s.movingTo, s.nodeId)';

/**
 * What a node has promised, to how many sandboxes, and how many of them have a VM there (each
 * costs the node's sandbox overhead; a hibernated one has none).
 */
export type Allocation = Capacity & { sandboxes: number; vms: number };

/**
 * What each node has promised: the sum over its sandboxes that should be running (whatever
 * their observed state, `unknown` included). Sandboxes being deleted no longer count, so
 * their room is offered again at once; hibernated ones hold no vCPUs or memory (see
 * isReleased), but still count as its sandboxes; one moving to another node counts there (see
 * `movingTo`). Limited to `nodeIds` when given.
 */
export async function loadAllocations(
  manager: EntityManager,
  nodeIds?: readonly string[],
): Promise<Map<string, Allocation>> {
  if (nodeIds?.length === 0) return new Map();
  const query = manager
    .createQueryBuilder(SandboxEntity, 's')
    .select(BOOKED_NODE, 'nodeId')
    .addSelect(heldSum('s.vcpus'), 'vcpus')
    .addSelect(heldSum('s.memoryMiB'), 'memoryMiB')
    .addSelect('COUNT(*)', 'sandboxes')
    .addSelect(heldSum('1'), 'vms')
    .setParameters(RELEASED_PARAMETERS)
    .where('s.nodeId IS NOT NULL')
    .andWhere('s.desiredState = :running', { running: 'running' });
  if (nodeIds) query.andWhere(`${BOOKED_NODE} IN (:...nodeIds)`, { nodeIds: [...nodeIds] });
  const rows = await query
    .groupBy(BOOKED_NODE)
    .getRawMany<{ nodeId: string } & Record<keyof Allocation, string | number>>();
  // PostgreSQL returns SUM and COUNT as bigint strings.
  return new Map(
    rows.map((r) => [
      r.nodeId,
      { vcpus: Number(r.vcpus), memoryMiB: Number(r.memoryMiB), sandboxes: Number(r.sandboxes), vms: Number(r.vms) },
    ]),
  );
}

/** How many running-or-wanted sandboxes of each key every node holds, for the given keys. */
export async function loadKeyCounts(
  manager: EntityManager,
  keys: readonly string[],
): Promise<Map<string, Map<string, number>>> {
  const byNode = new Map<string, Map<string, number>>();
  if (keys.length === 0) return byNode;
  const rows = await manager
    .createQueryBuilder(SandboxEntity, 's')
    .select('s.nodeId', 'nodeId')
    .addSelect('s.antiAffinityKey', 'key')
    .addSelect('COUNT(*)', 'count')
    .where('s.nodeId IS NOT NULL')
    .andWhere({ desiredState: 'running', antiAffinityKey: In([...keys]) })
    .groupBy('s.nodeId')
    .addGroupBy('s.antiAffinityKey')
    .getRawMany<{ nodeId: string; key: string; count: string | number }>();
  for (const row of rows) {
    const counts = byNode.get(row.nodeId) ?? new Map<string, number>();
    counts.set(row.key, Number(row.count));
    byNode.set(row.nodeId, counts);
  }
  return byNode;
}

export const NOTHING_ALLOCATED: Capacity = { vcpus: 0, memoryMiB: 0 };
