import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import type { PoolSize } from '../model/sandbox.types';

const ENTRY = /^(\d+)x(\d+):(\d+)$/;

/**
 * Reads `MOAT_WARM_POOL`: comma-separated `<vcpus>x<memoryMiB>:<count>` entries, e.g.
 * `1x256:4,2x1024:1`; empty: no pool.
 */
export function parseWarmPool(text: string): PoolSize[] {
  const sizes: PoolSize[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const match = ENTRY.exec(entry);
    if (!match) throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `warm pool entry "${entry}" is not <vcpus>x<memoryMiB>:<count> (e.g. 1x256:4)`);
    const [vcpus, memoryMiB, count] = match.slice(1).map(Number);
    if (vcpus < 1 || memoryMiB < 1 || count < 1) throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `warm pool entry "${entry}": every number must be at least 1`);
    if (sizes.some((size) => size.vcpus === vcpus && size.memoryMiB === memoryMiB)) {
      throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `warm pool entry "${entry}" names a shape twice`);
    }
    sizes.push({ vcpus, memoryMiB, count });
  }
  return sizes;
}
