import type { LinuxResources } from '@moat/proto';
import { z } from 'zod';
import { parseOciJson } from './oci-json';

const MAX_RESOURCES_JSON_BYTES = 64 * 1024;
/** -1 lifts a limit; 0 and absent leave it as it is. */
const limit = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER).optional();

/** The part of an OCI LinuxResources (`ctr task update`, CRI's UpdateContainerResources) a Moat container takes. */
const resourcesSchema = z.object({
  memory: z.object({ limit }).optional(),
  cpu: z.object({ quota: limit, period: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional() }).optional(),
  pids: z.object({ limit }).optional(),
});

/** An update's OCI LinuxResources JSON as the guest's container limits (0: unchanged). */
export function containerLimits(resourcesJson: string): LinuxResources {
  const { memory, cpu, pids } = parseOciJson(resourcesJson, resourcesSchema, "the update's resources", MAX_RESOURCES_JSON_BYTES);
  return { memoryLimitBytes: memory?.limit ?? 0, cpuQuotaUs: cpu?.quota ?? 0, cpuPeriodUs: cpu?.period ?? 0, pidsLimit: pids?.limit ?? 0 };
}
