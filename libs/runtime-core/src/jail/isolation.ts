import { chown, mkdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';
import type { CgroupLimits, Cgroups } from './cgroups';
import type { JailIds } from './jail-ids';

/** What a VM's fences are, as its owner's state file keeps them. */
export const isolationStateSchema = z.object({
  /** The VMM runs jailed (its own uid, namespaces and root, no capabilities, seccomp). */
  jailed: z.boolean(),
  /** The uid (and gid) leased to the VM while jailed. */
  uid: z.number().int().positive().optional(),
  /** Its host cgroup, as `/proc/<pid>/cgroup` names it (`/moat/<owner>`). */
  cgroup: z.string().optional(),
});
export type IsolationState = z.infer<typeof isolationStateSchema>;

/** What the VMM launcher needs of a VM's fences. */
export interface VmIsolation {
  /** Absent: the VMM runs unjailed (`MOAT_JAIL=false`). */
  jail?: { uid: number; gid: number };
  cgroup?: { cgroups: Cgroups; name: string };
}

/** How big a VM is, for its cgroup's limits. */
export interface VmSize {
  vcpus: number;
  /** The guest's RAM (what the VMM maps). */
  memoryMiB: number;
  /** What the VMM and its helpers take beyond the guest's RAM (the hypervisor driver knows). */
  overheadMiB: number;
}

const MIB = 1024 * 1024;
const CPU_PERIOD_US = 100_000;
/** Threads and processes: vCPUs, QEMU's I/O worker pool, virtiofsd's thread pool, bubblewrap's monitor. */
const PIDS_LIMIT = 512;
/** Share of a core on top of the vCPUs for the VMM's own threads and the helpers. */
const HELPER_CPU_SHARE = 0.5;

/** The cgroup limits of a VM: CPU from its vCPUs, memory from its RAM plus the VMM's overhead, and a pids bound. */
export function cgroupLimits(size: VmSize): CgroupLimits {
  return {
    cpu: { quotaUs: Math.round((size.vcpus + HELPER_CPU_SHARE) * CPU_PERIOD_US), periodUs: CPU_PERIOD_US },
    memoryBytes: (size.memoryMiB + size.overheadMiB) * MIB,
    pids: PIDS_LIMIT,
  };
}

/**
 * A VM's fences on the host, acquired before its VMM starts and released after it stopped: a
 * uid from the jail range, the directory of the VMM's sockets (the only place a jailed VMM may
 * write, owned by that uid) and a host cgroup with its limits. Shared by sandboxes and the VMs
 * that save boot snapshots.
 */
export class HostIsolation {
  constructor(
    readonly jailed: boolean,
    private readonly ids: JailIds,
    private readonly cgroups: Cgroups,
  ) {}

  /** `owner` names the VM (a sandbox id): its uid lease and its cgroup. */
  async acquire(owner: string, socketDir: string, size: VmSize, save: (state: IsolationState) => Promise<void>): Promise<IsolationState> {
    const state: IsolationState = { jailed: this.jailed };
    if (this.jailed) {
      // Saved before the lease exists: a crash in between leaves a lease release finds by its owner.
      await save(state);
      state.uid = await this.ids.acquire(owner);
      await save(state);
    }
    await mkdir(socketDir, { recursive: true, mode: 0o700 });
    if (state.uid !== undefined) await chown(socketDir, state.uid, state.uid);
    state.cgroup = this.cgroups.path(owner);
    await save(state);
    await this.cgroups.create(owner, cgroupLimits(size));
    return state;
  }

  /** Kills what is left in the cgroup, removes it and gives the uid back; idempotent. */
  async release(owner: string, state: IsolationState): Promise<void> {
    if (state.cgroup !== undefined) await this.cgroups.remove(owner);
    if (state.uid !== undefined) await this.ids.release(state.uid, owner);
    else if (state.jailed) await this.ids.releaseOwner(owner);
  }

  /** The fences as the VMM launcher applies them. */
  vmm(state: IsolationState): VmIsolation {
    const name = cgroupName(state);
    return {
      ...(state.uid !== undefined && { jail: { uid: state.uid, gid: state.uid } }),
      ...(name !== undefined && { cgroup: { cgroups: this.cgroups, name } }),
    };
  }

  /** Puts a helper process (virtiofsd) into the VM's cgroup. */
  async enter(state: IsolationState, pid: number): Promise<void> {
    const name = cgroupName(state);
    if (name !== undefined) await this.cgroups.enter(name, pid);
  }

  /** How often the kernel's OOM killer struck in the VM's cgroup. */
  oomKills(state: IsolationState): Promise<number> {
    const name = cgroupName(state);
    return name === undefined ? Promise.resolve(0) : this.cgroups.oomKills(name);
  }

  /** Lowers (or raises) a running VM's memory limit: tests force an out-of-memory kill with it. */
  setMemoryLimit(state: IsolationState, bytes: number): Promise<void> {
    const name = cgroupName(state);
    return name === undefined ? Promise.resolve() : this.cgroups.setMemoryLimit(name, bytes);
  }
}

/** The cgroup's name under the parent: the last part of its path. */
function cgroupName(state: IsolationState): string | undefined {
  return state.cgroup === undefined ? undefined : basename(state.cgroup);
}
