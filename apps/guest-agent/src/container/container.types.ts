import type { CgroupReader } from './cgroup.reader';
import type { OciSpec } from './oci-spec';

export type ContainerStatus = 'created' | 'starting' | 'running' | 'paused' | 'stopped' | 'removing';

/** One container (a crun bundle) as the agent holds it. */
export interface Container {
  id: string;
  bundleDir: string;
  spec: OciSpec;
  /** Its init runs on a pty the agent opens (the spec asked for a terminal). */
  initTerminal: boolean;
  mountPoints: string[];
  status: ContainerStatus;
  /** Found from the init process once it runs. */
  cgroup?: CgroupReader;
  /** The OOM kill count last reported by GetOOMEvent. */
  oomKillsReported: number;
}
