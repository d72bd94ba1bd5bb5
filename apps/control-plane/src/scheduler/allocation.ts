import type { Capacity } from '@moat/proto';
import { EntityManager } from 'typeorm';
import { SandboxEntity } from '../sandboxes/sandbox.entity';

/**
 * What each node has promised: the sum over its sandboxes that should be running.
 * Sandboxes being deleted no longer count, so their room is offered again at once.
 * With `nodeId`, only that node's.
 */
export async function loadAllocations(manager: EntityManager, nodeId?: string): Promise<Map<string, Capacity>> {
  const query = manager
    .createQueryBuilder(SandboxEntity, 's')
    .select('s.nodeId', 'nodeId')
    .addSelect('SUM(s.vcpus)', 'vcpus')
    .addSelect('SUM(s.memoryMiB)', 'memoryMiB')
    .where('s.nodeId IS NOT NULL')
    .andWhere('s.desiredState = :running', { running: 'running' });
  // One node's sum uses the nodeId index instead of aggregating the whole fleet.
  if (nodeId !== undefined) query.andWhere('s.nodeId = :nodeId', { nodeId });
  const rows = await query
    .groupBy('s.nodeId')
    .getRawMany<{ nodeId: string; vcpus: string | number; memoryMiB: string | number }>();
  // PostgreSQL returns SUM over integers as a bigint string.
  return new Map(rows.map((r) => [r.nodeId, { vcpus: Number(r.vcpus), memoryMiB: Number(r.memoryMiB) }]));
}

export const NOTHING_ALLOCATED: Capacity = { vcpus: 0, memoryMiB: 0 };
