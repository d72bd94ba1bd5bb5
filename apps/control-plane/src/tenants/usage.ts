import { EntityManager, In } from 'typeorm';
import { heldSum, RELEASED_PARAMETERS } from '../sandboxes/model/hibernation';
import { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import type { Usage } from './model/quota';

/**
 * What each tenant's sandboxes that are meant to exist use (being deleted ones do not count; a
 * hibernated one counts as a sandbox, but not its vCPUs and memory: see isReleased).
 */
export async function loadUsage(manager: EntityManager, tenantIds: readonly string[]): Promise<Map<string, Usage>> {
  if (tenantIds.length === 0) return new Map();
  const rows = await manager
    .createQueryBuilder(SandboxEntity, 's')
    .select('s.tenantId', 'tenantId')
    .addSelect('COUNT(*)', 'sandboxes')
    .addSelect(heldSum('s.vcpus'), 'vcpus')
    .addSelect(heldSum('s.memoryMiB'), 'memoryMiB')
    .setParameters(RELEASED_PARAMETERS)
    .where({ tenantId: In([...tenantIds]), desiredState: 'running' })
    .groupBy('s.tenantId')
    .getRawMany<{ tenantId: string } & Record<keyof Usage, string | number>>();
  // PostgreSQL returns COUNT and SUM as bigint strings.
  return new Map(
    rows.map((r) => [r.tenantId, { sandboxes: Number(r.sandboxes), vcpus: Number(r.vcpus), memoryMiB: Number(r.memoryMiB) }]),
  );
}
