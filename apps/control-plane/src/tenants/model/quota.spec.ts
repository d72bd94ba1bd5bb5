import { describe, expect, it } from '@jest/globals';
import { DEFAULT_QUOTA, NO_USAGE, quotaFit, quotaViolation, quotaWithDefaults, withAdded } from './quota';

describe('quotaViolation', () => {
  it('allows a request that reaches the limits exactly', () => {
    const usage = { sandboxes: 9, vcpus: 15, memoryMiB: 16_128 };
    expect(quotaViolation(DEFAULT_QUOTA, usage, { sandboxes: 1, vcpus: 1, memoryMiB: 256 })).toBeUndefined();
  });

  it('names every limit the request would break', () => {
    const usage = { sandboxes: 10, vcpus: 16, memoryMiB: 100 };
    const problem = quotaViolation(DEFAULT_QUOTA, usage, { sandboxes: 1, vcpus: 1, memoryMiB: 256 });
    expect(problem).toContain('sandboxes: 10 in use + 1 requested > limit 10');
    expect(problem).toContain('vcpus: 16 in use + 1 requested > limit 16');
    expect(problem).not.toContain('memoryMiB');
  });

  it('refers to memory when only memory runs out', () => {
    const problem = quotaViolation(DEFAULT_QUOTA, { sandboxes: 0, vcpus: 0, memoryMiB: 16_000 }, { sandboxes: 1, vcpus: 1, memoryMiB: 512 });
    expect(problem).toMatch(/^memoryMiB: /);
  });
});

describe('quotaFit', () => {
  const quota = { maxSandboxes: 10, maxVcpus: 8, maxMemoryMiB: 4096 };
  const size = { vcpus: 2, memoryMiB: 512 };

  it('takes all of a request that fits, with no problem', () => {
    expect(quotaFit(quota, { sandboxes: 0, vcpus: 0, memoryMiB: 0 }, size, 4)).toEqual({ fits: 4 });
  });

  it('takes as many as the tightest limit allows, and names what all of them would break', () => {
    const { fits, problem } = quotaFit(quota, { sandboxes: 1, vcpus: 2, memoryMiB: 512 }, size, 5);
    expect(fits).toBe(3);
    expect(problem).toBe('vcpus: 2 in use + 10 requested > limit 8');
  });

  it('agrees with quotaViolation one sandbox at a time', () => {
    for (let used = 0; used <= 10; used += 1) {
      const usage = { sandboxes: used, vcpus: used, memoryMiB: used * 300 };
      let expected = 0;
      while (expected < 6 && !quotaViolation(quota, withAdded(usage, size, expected), withAdded(NO_USAGE, size, 1))) expected += 1;
      expect(quotaFit(quota, usage, size, 6).fits).toBe(expected);
    }
  });

  it('takes nothing, even nothing asked, from a tenant already over a lowered limit', () => {
    const over = { sandboxes: 12, vcpus: 0, memoryMiB: 0 };
    expect(quotaFit(quota, over, size, 1)).toEqual({ fits: 0, problem: 'sandboxes: 12 in use + 1 requested > limit 10' });
    expect(quotaFit(quota, over, size, 0).problem).toBe('sandboxes: 12 in use + 0 requested > limit 10');
  });
});

describe('quotaWithDefaults', () => {
  it('fills in only the limits that are absent', () => {
    expect(quotaWithDefaults({ maxSandboxes: 3, maxVcpus: undefined })).toEqual({ ...DEFAULT_QUOTA, maxSandboxes: 3 });
    expect(quotaWithDefaults()).toEqual(DEFAULT_QUOTA);
  });
});
