import type { LinuxResources } from '@moat/proto';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import { GUEST_ROOTFS_PATH } from '../../sharefs/shared-fs';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Stays up until asked to stop: `sleep` in the background so the shell can take SIGTERM at once. */
export const IDLE_INIT = ['/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'];

/** Docker's default capability set: enough for ordinary workloads, nothing that reaches past the container. */
const DEFAULT_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** The subset of the OCI runtime spec Moat builds; the guest agent hands it to crun unchanged. */
export interface OciSpec {
  ociVersion: string;
  hostname: string;
  root: { path: string; readonly: boolean };
  process: {
    terminal: boolean;
    user: { uid: number; gid: number };
    args: string[];
    env: string[];
    cwd: string;
    noNewPrivileges: boolean;
    capabilities: Record<'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient', string[]>;
    rlimits: { type: string; hard: number; soft: number }[];
  };
  mounts: { destination: string; type: string; source: string; options: string[] }[];
  linux: {
    namespaces: { type: string }[];
    cgroupsPath: string;
    maskedPaths: string[];
    readonlyPaths: string[];
    resources?: { memory?: { limit: number; swap: number }; cpu?: { quota: number; period: number }; pids?: { limit: number } };
  };
}

export interface ContainerSpecInput {
  /** Names its cgroup in the guest: the sandbox's id for its own container. */
  containerId: string;
  /** Its rootfs in the guest; default the sandbox's ({@link GUEST_ROOTFS_PATH}). */
  rootPath?: string;
  hostname: string;
  env: Record<string, string>;
  command?: string[];
  /** Default `/`. */
  cwd?: string;
  /** Default root. */
  user?: { uid: number; gid: number };
  /** The init runs on a terminal (the guest agent opens its pty). Default false. */
  terminal?: boolean;
  /** Mounts beside the defaults (a pod's container: the pod's hosts, resolv.conf and hostname). */
  mounts?: OciSpec['mounts'];
  /** The sandbox's size: the container's CPU and memory limits. */
  vcpus?: number;
  memoryMiB?: number;
}

/**
 * Memory the VM gets on top of the sandbox's `memoryMiB` for the guest kernel and agent (Kata
 * does the same with its default VM memory): the container is limited to `memoryMiB`, so its
 * OOM killer fires (and is reported as OOM) before the guest runs short and evicts the agent.
 */
export const GUEST_OVERHEAD_MIB = 160;
const CPU_PERIOD_US = 100_000;
const MIB = 1024 * 1024;

/** cgroup v2 limits for the container: the sandbox's vCPUs as CPU bandwidth, and its memory. */
export function containerResources(vcpus: number, memoryMiB: number): NonNullable<OciSpec['linux']['resources']> {
  const limit = memoryMiB * MIB;
  return {
    memory: { limit, swap: limit },
    cpu: { quota: vcpus * CPU_PERIOD_US, period: CPU_PERIOD_US },
    pids: { limit: 4096 },
  };
}

/**
 * Throws INVALID_SPEC when `resources` (0: unchanged, -1: no limit) would let the container have
 * more than its VM: memory beyond `memoryMiB`, CPU bandwidth beyond `vcpus`. The VM's own size
 * is fixed at its start.
 */
export function checkWithinVm(vm: { id: string; vcpus: number; memoryMiB: number }, resources: LinuxResources): void {
  const problems: string[] = [];
  const { memoryLimitBytes, cpuQuotaUs, cpuPeriodUs } = resources;
  if (memoryLimitBytes === -1 || memoryLimitBytes > vm.memoryMiB * MIB) problems.push(`memory limit ${memoryLimitBytes} is more than the VM's ${vm.memoryMiB} MiB`);
  const period = cpuPeriodUs > 0 ? cpuPeriodUs : CPU_PERIOD_US;
  if (cpuQuotaUs === -1 || cpuQuotaUs / period > vm.vcpus) problems.push(`CPU quota ${cpuQuotaUs} per ${period} µs is more than the VM's ${vm.vcpus} vCPUs`);
  if (problems.length > 0) {
    throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `${problems.join('; ')}: a VM's size is fixed at its start`, { context: { sandboxId: vm.id } });
  }
}

/** `KEY=VALUE` list with PATH first so a caller's PATH overrides the default. */
export function envList(...envs: Record<string, string>[]): string[] {
  const merged = Object.assign({ PATH: DEFAULT_PATH }, ...envs) as Record<string, string>;
  return Object.entries(merged).map(([key, value]) => `${key}=${value}`);
}

export function buildContainerSpec(input: ContainerSpecInput): OciSpec {
  return {
    ociVersion: '1.0.2',
    hostname: input.hostname,
    // Writable: the rootfs is the sandbox's own copy, and containers expect to write to it.
    root: { path: input.rootPath ?? GUEST_ROOTFS_PATH, readonly: false },
    process: {
      terminal: input.terminal ?? false,
      user: input.user ?? { uid: 0, gid: 0 },
      args: input.command ?? IDLE_INIT,
      env: envList(input.env),
      cwd: input.cwd ?? '/',
      noNewPrivileges: true,
      capabilities: {
        bounding: DEFAULT_CAPS,
        effective: DEFAULT_CAPS,
        permitted: DEFAULT_CAPS,
        inheritable: [],
        ambient: [],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
    },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
      ...(input.mounts ?? []),
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }],
      cgroupsPath: `/moat/${input.containerId}`,
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      ...(input.vcpus !== undefined && input.memoryMiB !== undefined && { resources: containerResources(input.vcpus, input.memoryMiB) }),
    },
  };
}
