import type { EntityManager } from 'typeorm';
import { SandboxEntity } from '../sandboxes/sandbox.entity';
import type { Usage } from './quota';

/** What the tenant's sandboxes that are meant to exist use (read inside the quota transaction). */
export async function tenantUsage(manager: EntityManager, tenantId: string): Promise<Usage> {
  const row = await manager
    .createQueryBuilder(SandboxEntity, 's')
    .select('COUNT(*)', 'sandboxes')
    .addSelect('COALESCE(SUM(s.vcpus), 0)', 'vcpus')
    .addSelect('COALESCE(SUM(s.memoryMiB), 0)', 'memoryMiB')
    .where('s.tenantId = :tenantId', { tenantId })
    .andWhere('s.desiredState = :running', { running: 'running' })
    .getRawOne<Record<keyof Usage, string | number>>();
  // PostgreSQL returns COUNT and SUM as bigint strings.
  return { sandboxes: Number(row?.sandboxes ?? 0), vcpus: Number(row?.vcpus ?? 0), memoryMiB: Number(row?.memoryMiB ?? 0) };
}
