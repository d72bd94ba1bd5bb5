/** Limits on what one tenant's sandboxes may use together. */
export interface Quota {
  maxSandboxes: number;
  maxVcpus: number;
  maxMemoryMiB: number;
}

export const DEFAULT_QUOTA: Quota = { maxSandboxes: 10, maxVcpus: 16, maxMemoryMiB: 16384 };

/** What a tenant's sandboxes use, or what one more sandbox would add. */
export interface Usage {
  sandboxes: number;
  vcpus: number;
  memoryMiB: number;
}

/** Why adding `request` to `usage` would break `quota`, or undefined when it fits. */
export function quotaViolation(quota: Quota, usage: Usage, request: Usage): string | undefined {
  const problems: string[] = [];
  const check = (what: string, used: number, asked: number, limit: number): void => {
    if (used + asked > limit) problems.push(`${what}: ${used} in use + ${asked} requested > limit ${limit}`);
  };
  check('sandboxes', usage.sandboxes, request.sandboxes, quota.maxSandboxes);
  check('vcpus', usage.vcpus, request.vcpus, quota.maxVcpus);
  check('memoryMiB', usage.memoryMiB, request.memoryMiB, quota.maxMemoryMiB);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/** A full quota from a partial one; absent (or undefined) limits take the defaults. */
export function quotaWithDefaults(partial: Partial<Quota> = {}): Quota {
  return {
    maxSandboxes: partial.maxSandboxes ?? DEFAULT_QUOTA.maxSandboxes,
    maxVcpus: partial.maxVcpus ?? DEFAULT_QUOTA.maxVcpus,
    maxMemoryMiB: partial.maxMemoryMiB ?? DEFAULT_QUOTA.maxMemoryMiB,
  };
}
