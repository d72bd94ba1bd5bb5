import type { Readable } from 'node:stream';
import type { AgentApi } from '../../agent/agent.client';
import type { BootSnapshotFiles } from '../../hypervisor/hypervisor';
import type { LogPump } from '../logs/log-pump';
import type { LogRing } from '../logs/log-ring';
import type { SandboxState } from './sandbox.state';
import type { SandboxInfo } from './sandbox.types';

/** One sandbox as the runtime holds it: its persisted state and what lives only in this process. */
export interface SandboxEntry {
  state: SandboxState;
  phase: SandboxInfo['state'];
  error?: { code: string; message: string };
  progress?: SandboxInfo['progress'];
  /** The connection to the guest agent, while the VM runs. */
  agent?: AgentApi;
  /** The NIC's descriptor, from the network step until the VMM has its own copy. */
  nicFd?: number;
  /** The main process's output, from its start until the sandbox is deleted (kept when it fails). */
  logs?: LogRing;
  /** Reads that output into `logs` while the container runs. */
  logPump?: LogPump;
  /** Health checks in a row its running guest agent did not answer (the watchdog's count). */
  missedPings?: number;
  /** Its VM is being live-migrated away: paused at the end, waiting for the target, so the watchdog does not ask its guest. */
  departing?: boolean;
  /** The boot snapshot this start restores from, once the restore step found one. */
  snapshot?: BootSnapshotFiles;
  creating?: Promise<SandboxInfo>;
  /** Its start was abandoned (see SandboxRuntime.cancelStarts). */
  cancelled?: boolean;
  deleting?: Promise<void>;
  /** The release in progress (a failure's or a delete's): whoever else needs one waits for it. */
  releasing?: Promise<void>;
  onUpdate?: (info: SandboxInfo) => void;
  /** A live migration's stream while the sandbox arrives by it (see sandbox/moves). */
  incoming?: Readable;
}

/** The entry as the node agent reports it. */
export function infoOf(entry: SandboxEntry): SandboxInfo {
  const { state } = entry;
  return {
    id: state.spec.id,
    state: entry.phase,
    vcpus: state.spec.vcpus,
    memoryMiB: state.spec.memoryMiB,
    timings: state.timings.map((t) => ({ ...t })),
    ...(entry.error && { error: { ...entry.error } }),
    ...(entry.progress && { progress: { ...entry.progress } }),
    rootfs: state.sharedFsKind,
    ...(state.guest && { guest: { ...state.guest } }),
    accel: state.accel,
    transport: state.transport,
    ...(state.network?.guest && { network: { ip: state.network.guest.addresses[0].address, ports: state.network.ports } }),
    ...(state.isolation && {
      isolation: { jailed: state.isolation.jailed, uid: state.isolation.uid ?? 0, seccomp: state.isolation.jailed, cgroup: state.isolation.cgroup },
    }),
    ...(state.spec.containerd && { containerd: { ...state.spec.containerd } }),
    ...(state.vmmPid !== undefined && entry.phase !== 'failed' && { vmmPid: state.vmmPid }),
    ...(state.podContainers && { podContainers: Object.keys(state.podContainers) }),
    ...(state.hibernation && entry.phase === 'hibernated' && { savedBytes: state.hibernation.savedBytes }),
  };
}
