import type { Capacity } from '@moat/proto';
import { EntityManager } from 'typeorm';
import { SandboxEntity } from '../sandboxes/sandbox.entity';

/**
 * What each node has promised: the sum over its sandboxes that should be running.
 * Sandboxes being deleted no longer count, so their room is offered again at once.
 */
export async function loadAllocations(manager: EntityManager): Promise<Map<string, Capacity>> {
  const rows = await manager
    .createQueryBuilder(SandboxEntity, 's')
    .select('s.nodeId', 'nodeId')
    .addSelect('SUM(s.vcpus)', 'vcpus')
    .addSelect('SUM(s.memoryMiB)', 'memoryMiB')
    .where('s.nodeId IS NOT NULL')
    .andWhere('s.desiredState = :running', { running: 'running' })
    .groupBy('s.nodeId')
    .getRawMany<{ nodeId: string; vcpus: string | number; memoryMiB: string | number }>();
  // PostgreSQL returns SUM over integers as a bigint string.
  return new Map(rows.map((r) => [r.nodeId, { vcpus: Number(r.vcpus), memoryMiB: Number(r.memoryMiB) }]));
}

export const NOTHING_ALLOCATED: Capacity = { vcpus: 0, memoryMiB: 0 };
