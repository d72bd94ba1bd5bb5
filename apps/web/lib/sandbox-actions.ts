import type { Sandbox } from '@moat/sdk';
import type { SandboxAction } from './api/api.client';
import { parseOptionalInt } from './forms';

/**
 * Only a sandbox with a block rootfs can be saved (hibernate), captured (fork) or moved live
 * (migrate): QEMU saves no shared filesystem.
 */
function savable(sandbox: Pick<Sandbox, 'rootfs'>): boolean {
  return sandbox.rootfs === 'block';
}

/** A running sandbox with a block rootfs: the one a fork or a live migration can take. */
function runsSavable(sandbox: Pick<Sandbox, 'state' | 'rootfs'>): boolean {
  return sandbox.state === 'running' && savable(sandbox);
}

/**
 * The hibernation actions the sandbox takes as it is now: hibernate while it runs (only a
 * sandbox with a block rootfs can be saved), wake while it hibernates or is hibernated.
 */
export function hibernationActions(sandbox: Pick<Sandbox, 'state' | 'rootfs'>): Record<SandboxAction, boolean> {
  switch (sandbox.state) {
    case 'running':
      return { hibernate: savable(sandbox), wake: false };
    case 'hibernating':
    case 'hibernated':
      return { hibernate: false, wake: true };
    case 'pending':
    case 'creating':
    case 'waking':
    case 'migrating':
    case 'stopping':
    case 'stopped':
    case 'failed':
    case 'unknown':
      return { hibernate: false, wake: false };
  }
}

/** Whether the sandbox can be forked as it is now: a running one with a block rootfs. */
export function forkable(sandbox: Pick<Sandbox, 'state' | 'rootfs'>): boolean {
  return runsSavable(sandbox);
}

/** Whether the sandbox can be moved live to another node as it is now: a running one with a block rootfs. */
export function migratable(sandbox: Pick<Sandbox, 'state' | 'rootfs'>): boolean {
  return runsSavable(sandbox);
}

// The control plane's MAX_FORK_CLONES (libs/proto), checked here too so a bad count is told in the dialog.
export const FORK_COUNT_LIMITS = { min: 1, max: 16 } as const;

/** How many clones the fork dialog's field asks for (blank: one), or why it cannot be sent. */
export function parseForkCount(raw: string): { count: number; errors: string[] } {
  const errors: string[] = [];
  return { count: parseOptionalInt(raw, 'Clones', FORK_COUNT_LIMITS, errors) ?? 1, errors };
}
