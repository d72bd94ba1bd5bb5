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

export const NO_USAGE: Usage = { sandboxes: 0, vcpus: 0, memoryMiB: 0 };

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

/** What one sandbox adds to its tenant's vCPUs and memory (it counts as one sandbox). */
export type SandboxSize = Pick<Usage, 'vcpus' | 'memoryMiB'>;

/** `usage` with `count` sandboxes of `size` added. */
export function withAdded(usage: Usage, size: SandboxSize, count: number): Usage {
  return { sandboxes: usage.sandboxes + count, vcpus: usage.vcpus + size.vcpus * count, memoryMiB: usage.memoryMiB + size.memoryMiB * count };
}

/**
 * The quota check of every new sandbox, whoever asks (an API create through the scheduler, a
 * deployment's replicas): how many of `count` sandboxes of `size` the quota allows beside
 * `usage`, and, when not all of them fit, why (the limits all of them would break).
 */
export function quotaFit(quota: Quota, usage: Usage, size: SandboxSize, count: number): { fits: number; problem?: string } {
  const problem = quotaViolation(quota, usage, withAdded(NO_USAGE, size, count));
  if (!problem) return { fits: count };
  const room = (limit: number, used: number, each: number): number => {
    if (each > 0) return Math.floor((limit - used) / each);
    return used <= limit ? count : 0;
  };
  const fits = Math.min(
    count,
    room(quota.maxSandboxes, usage.sandboxes, 1),
    room(quota.maxVcpus, usage.vcpus, size.vcpus),
    room(quota.maxMemoryMiB, usage.memoryMiB, size.memoryMiB),
  );
  return { fits: Math.max(0, fits), problem };
}

/** A full quota from a partial one; absent (or undefined) limits take the defaults. */
export function quotaWithDefaults(partial: Partial<Quota> = {}): Quota {
  return {
    maxSandboxes: partial.maxSandboxes ?? DEFAULT_QUOTA.maxSandboxes,
    maxVcpus: partial.maxVcpus ?? DEFAULT_QUOTA.maxVcpus,
    maxMemoryMiB: partial.maxMemoryMiB ?? DEFAULT_QUOTA.maxMemoryMiB,
  };
}
