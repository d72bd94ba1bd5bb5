import { describe, expect, it } from '@jest/globals';
import { containerLimits } from './oci-resources';

describe("an update's OCI LinuxResources", () => {
  it('become the guest container limits, 0 for what it leaves as it is', () => {
    expect(containerLimits(JSON.stringify({ memory: { limit: 1 << 27, swap: 1 << 28 }, cpu: { quota: 50_000, period: 100_000, shares: 512 }, pids: { limit: -1 } }))).toEqual({
      memoryLimitBytes: 1 << 27,
      cpuQuotaUs: 50_000,
      cpuPeriodUs: 100_000,
      pidsLimit: -1,
    });
    expect(containerLimits('{}')).toEqual({ memoryLimitBytes: 0, cpuQuotaUs: 0, cpuPeriodUs: 0, pidsLimit: 0 });
  });

  it('answer INVALID_ARGUMENT for what is not JSON, a limit below -1 or a fraction', () => {
    for (const bad of ['{', JSON.stringify({ memory: { limit: -2 } }), JSON.stringify({ cpu: { quota: 1.5 } }), 'x'.repeat(65 * 1024)]) {
      expect(() => containerLimits(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});
