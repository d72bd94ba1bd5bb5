import type { Sandbox } from '@moat/sdk';
import type { SandboxAction } from './api/api.client';

/**
 * The hibernation actions the sandbox takes as it is now: hibernate while it runs (only a
 * sandbox with a block rootfs can be saved), wake while it hibernates or is hibernated.
 */
export function hibernationActions(sandbox: Pick<Sandbox, 'state' | 'rootfs'>): Record<SandboxAction, boolean> {
  switch (sandbox.state) {
    case 'running':
      return { hibernate: sandbox.rootfs === 'block', wake: false };
    case 'hibernating':
    case 'hibernated':
      return { hibernate: false, wake: true };
    case 'pending':
    case 'creating':
    case 'waking':
    case 'stopping':
    case 'stopped':
    case 'failed':
    case 'unknown':
      return { hibernate: false, wake: false };
  }
}
