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
  if (nodeIds === undefined) return allocationsBy(manager, BOOKED_NODE, 's.nodeId IS NOT NULL');
  if (nodeIds.length === 0) return new Map();
  // Two indexed lookups — the sandboxes on these nodes that stay there, and those moving to them —
  // as no index serves BOOKED_NODE: filtering on it scanned every sandbox, once per node announced.
  const ids = [...nodeIds];
  const staying = await allocationsBy(manager, 's.nodeId', 's.nodeId IN (:...ids)', { ids }, { staying: true });
  const arriving = await allocationsBy(manager, 's.movingTo', 's.movingTo IN (:...ids)', { ids });
  for (const [nodeId, allocation] of arriving) {
    const other = staying.get(nodeId);
    staying.set(nodeId, other ? sumAllocations(other, allocation) : allocation);
  }
  return staying;
}

/**
 * The allocations of the sandboxes matching `where` that should be running (and, with
 * `staying`, are not moving away), grouped by `node`, a column or expression. Those are picked
 * per group, not in `where`: SQLite, which keeps no statistics, would otherwise read the rows
 * through the index on `desiredState` or `movingTo` — nearly every row — instead of the one
 * `where` names.
 */
async function allocationsBy(
  manager: EntityManager,
  node: string,
  where: string,
  parameters: Record<string, unknown> = {},
  { staying = false }: { staying?: boolean } = {},
): Promise<Map<string, Allocation>> {
  const moving = 'CASE WHEN s.movingTo IS NULL THEN 0 ELSE 1 END';
  const rows = await manager
    .createQueryBuilder(SandboxEntity, 's')
    .select(node, 'nodeId')
    .addSelect('s.desiredState', 'desiredState')
    .addSelect(moving, 'moving')
    .addSelect(heldSum('s.vcpus'), 'vcpus')
    .addSelect(heldSum('s.memoryMiB'), 'memoryMiB')
    .addSelect('COUNT(*)', 'sandboxes')
    .addSelect(heldSum('1'), 'vms')
    .setParameters(RELEASED_PARAMETERS)
    .where(where, parameters)
    .groupBy(node)
    .addGroupBy('s.desiredState')
    .addGroupBy(moving)
    .getRawMany<{ nodeId: string; desiredState: string; moving: string | number } & Record<keyof Allocation, string | number>>();
  const allocations = new Map<string, Allocation>();
  for (const row of rows) {
    if (row.desiredState !== 'running' || (staying && Number(row.moving) === 1)) continue;
    // PostgreSQL returns SUM and COUNT as bigint strings.
    const allocation = { vcpus: Number(row.vcpus), memoryMiB: Number(row.memoryMiB), sandboxes: Number(row.sandboxes), vms: Number(row.vms) };
    const other = allocations.get(row.nodeId);
    allocations.set(row.nodeId, other ? sumAllocations(other, allocation) : allocation);
  }
  return allocations;
}

function sumAllocations(a: Allocation, b: Allocation): Allocation {
  return { vcpus: a.vcpus + b.vcpus, memoryMiB: a.memoryMiB + b.memoryMiB, sandboxes: a.sandboxes + b.sandboxes, vms: a.vms + b.vms };
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
