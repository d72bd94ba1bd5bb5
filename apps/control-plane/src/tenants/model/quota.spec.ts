import { describe, expect, it } from 'vitest';
import { DEFAULT_QUOTA, quotaViolation, quotaWithDefaults } from './quota';

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

describe('quotaWithDefaults', () => {
  it('fills in only the limits that are absent', () => {
    expect(quotaWithDefaults({ maxSandboxes: 3, maxVcpus: undefined })).toEqual({ ...DEFAULT_QUOTA, maxSandboxes: 3 });
    expect(quotaWithDefaults()).toEqual(DEFAULT_QUOTA);
  });
});
