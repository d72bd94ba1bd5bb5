import { lstatSync, readlinkSync } from 'node:fs';

/** A host path made visible inside a jail. */
export interface JailMount {
  host: string;
  /** Where the jailed process sees it. */
  jail: string;
  /** `dev`: a device node (e.g. /dev/kvm), bound with its device semantics. */
  access: 'ro' | 'rw' | 'dev';
}

/**
 * Everything that makes a jail (Firecracker's jailer, done with util-linux and bubblewrap): its
 * own uid and gid, a root of its own holding only `mounts` (plus the host's read-only `/usr` for
 * the VMM's libraries and firmware) and a minimal `/dev`, its own PID, IPC, UTS, cgroup and
 * network namespaces, no capabilities but `capabilities`, `no_new_privs`, no core dumps and a
 * bounded number of open files.
 */
export interface JailSpec {
  uid: number;
  gid: number;
  /** Supplementary groups, e.g. the owner group of /dev/kvm. */
  groups: number[];
  mounts: JailMount[];
  /** Capabilities the jailed process keeps, e.g. `CAP_DAC_OVERRIDE`; normally none. */
  capabilities: string[];
  /** RLIMIT_NOFILE, soft and hard. */
  maxOpenFiles: number;
  /**
   * A /proc of the jail's own PID namespace, read-only and with the kernel's sensitive entries
   * masked, for a process that reaches its own files through /proc/self/fd (QEMU's 9p server
   * does). Normally absent.
   */
  proc?: boolean;
}

/** The descriptors of the start handshake, as the jailed command's launcher sees them. */
export interface JailHandshakeFds {
  /** bubblewrap writes `{"child-pid": N, …}` here once the sandbox's first process exists. */
  info: number;
  /** …which then waits for one byte here before it execs the command: time to move it into its cgroup. */
  release: number;
  /** Where bubblewrap's monitor writes `{"exit-code": N}` when the command ends (128 + the signal that killed it). */
  status?: number;
}

export const PRLIMIT = '/usr/bin/prlimit';
export const BWRAP = '/usr/bin/bwrap';
export const SETPRIV = '/usr/bin/setpriv';
/** The capabilities bubblewrap leaves its child so that setpriv can switch to the jail's uid and drop the rest. */
const SWITCH_CAPS = ['CAP_SETUID', 'CAP_SETGID', 'CAP_SETPCAP'];
/** Top-level host dirs that hold binaries and libraries: a merged-/usr host has them as symlinks into /usr. */
const SYSTEM_LINKS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
/** What a jail's /proc hides, as container runtimes mask it (the kernel's memory, keys, timers, hardware). */
const PROC_MASKS = ['/proc/kcore', '/proc/keys', '/proc/kallsyms', '/proc/timer_list', '/proc/sched_debug', '/proc/latency_stats', '/proc/sysrq-trigger'];

/**
 * What of the host's system the jail shows read-only: `/usr`, and /bin, /lib… as symlinks or
 * binds as the host has them; and which of the /proc entries a jail's /proc masks this kernel has.
 */
export function systemMounts(
  lstat = lstatSync,
  readlink = readlinkSync,
): { symlinks: { path: string; target: string }[]; binds: string[]; procEntries: string[] } {
  const symlinks: { path: string; target: string }[] = [];
  const binds = ['/usr'];
  const procEntries = PROC_MASKS.filter((entry) => {
    try {
      lstat(entry);
      return true;
    } catch {
      return false;
    }
  });
  for (const path of SYSTEM_LINKS) {
    try {
      if (lstat(path).isSymbolicLink()) symlinks.push({ path, target: readlink(path) });
      else binds.push(path);
    } catch {
      // Not on this host.
    }
  }
  return { symlinks, binds, procEntries };
}

/**
 * The argv that runs `command` jailed: `prlimit` sets the resource limits, bubblewrap builds the
 * namespaces and the root and waits on `fds.release`, setpriv switches to the jail's uid and gid,
 * drops every capability but `spec.capabilities` and sets `no_new_privs`, then execs the command.
 * Each is exec'd by the one before, so no shell and no extra process stay around but bubblewrap's
 * monitor (the jailed process's parent outside its PID namespace, with no capabilities).
 */
export function jailArgv(
  spec: JailSpec,
  command: string,
  args: readonly string[],
  fds: JailHandshakeFds,
  system: ReturnType<typeof systemMounts> = systemMounts(),
): [string, string[]] {
  const bwrap: string[] = [
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-net',
    '--unshare-cgroup-try',
    '--as-pid-1',
    '--new-session',
    '--clearenv',
  ];
  for (const dir of system.binds) bwrap.push('--ro-bind', dir, dir);
  for (const link of system.symlinks) bwrap.push('--symlink', link.target, link.path);
  bwrap.push('--perms', '0755', '--tmpfs', '/dev');
  if (spec.proc) {
    bwrap.push('--proc', '/proc');
    // Over entries this kernel has: bubblewrap cannot create a mount point in procfs.
    for (const masked of system.procEntries) bwrap.push('--ro-bind', '/dev/null', masked);
    bwrap.push('--remount-ro', '/proc');
  }
  for (const dir of parentDirs(spec.mounts.map((m) => m.jail))) bwrap.push('--perms', '0755', '--dir', dir);
  for (const mount of spec.mounts) {
    const flag = mount.access === 'ro' ? '--ro-bind' : mount.access === 'rw' ? '--bind' : '--dev-bind';
    bwrap.push(flag, mount.host, mount.jail);
  }
  bwrap.push('--remount-ro', '/', '--chdir', '/', '--info-fd', String(fds.info), '--block-fd', String(fds.release));
  if (fds.status !== undefined) bwrap.push('--json-status-fd', String(fds.status));
  for (const cap of [...SWITCH_CAPS, ...spec.capabilities]) bwrap.push('--cap-add', cap);

  const kept = spec.capabilities.map((cap) => `+${cap.replace(/^CAP_/, '').toLowerCase()}`);
  const capSet = ['-all', ...kept].join(',');
  const setpriv = [
    `--reuid=${spec.uid}`,
    `--regid=${spec.gid}`,
    ...(spec.groups.length > 0 ? [`--groups=${spec.groups.join(',')}`] : ['--clear-groups']),
    `--inh-caps=${capSet}`,
    ...(kept.length > 0 ? [`--ambient-caps=${capSet}`] : []),
    `--bounding-set=${capSet}`,
    '--no-new-privs',
  ];
  const limits = [`--core=0:0`, `--nofile=${spec.maxOpenFiles}:${spec.maxOpenFiles}`];
  return [PRLIMIT, [...limits, '--', BWRAP, ...bwrap, '--', SETPRIV, ...setpriv, '--', command, ...args]];
}

/** Every directory above the mount points that is not `/` itself, parents first. */
function parentDirs(paths: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const path of paths) {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) dirs.add(`/${parts.slice(0, i).join('/')}`);
  }
  return [...dirs].filter((dir) => dir !== '/dev').sort((a, b) => a.split('/').length - b.split('/').length);
}
