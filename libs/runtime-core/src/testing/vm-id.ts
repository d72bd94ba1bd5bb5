import type { SandboxInfo } from '../sandbox/model/sandbox.types';

/** The id a sandbox's VM, jail and dirs are named by (its own, a warm-pool VM's, or a moved sandbox's): its cgroup's last part. */
export function vmIdOf(info: SandboxInfo): string {
  return info.isolation?.cgroup?.split('/').at(-1) ?? '';
}
