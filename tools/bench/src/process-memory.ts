/**
 * Host memory of processes, read from /proc: the PSS of every process a sandbox runs on the host
 * (what Kata's density metric adds up with smem: hypervisor, virtiofsd, shim) and the RSS of
 * Moat's own daemons. PSS charges each page shared by n processes 1/n to each, so the guest RAM
 * QEMU and virtiofsd both map (a shared memfd) is counted once over the two.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename } from 'node:path';

/** The cgroup every sandbox's host cgroup lives under (runtime-core's default cgroupParent). */
const CGROUP_PARENT = 'moat';

export interface HostProcess {
  pid: number;
  argv: string[];
  /** /proc/<pid>/cgroup: one `hierarchy:controllers:/path` line per hierarchy. */
  cgroup: string;
}

function kibField(text: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
  if (!match) throw new Error(`no ${name} line`);
  return Number(match[1]);
}

/** A process's PSS in KiB, and how it splits: anonymous memory, file pages, shared memory (tmpfs, memfd). */
export interface Pss {
  total: number;
  anon: number;
  file: number;
  shmem: number;
}

export const NO_PSS: Pss = { total: 0, anon: 0, file: 0, shmem: 0 };

/** The PSS of a /proc/<pid>/smaps_rollup (its breakdown 0 on kernels older than 5.7, which lack it). */
export function parseSmapsRollup(text: string): Pss {
  const part = (name: string): number => (new RegExp(`^${name}:`, 'm').test(text) ? kibField(text, name) : 0);
  return { total: kibField(text, 'Pss'), anon: part('Pss_Anon'), file: part('Pss_File'), shmem: part('Pss_Shmem') };
}

export function addPss(a: Pss, b: Pss): Pss {
  return { total: a.total + b.total, anon: a.anon + b.anon, file: a.file + b.file, shmem: a.shmem + b.shmem };
}

/** A device number (`st_dev`) as /proc/<pid>/smaps writes it: `major:minor` in hex. */
export function smapsDevice(dev: number): string {
  // glibc's major() and minor() of the userspace encoding.
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & 0xfffff000n);
  const minor = (d & 0xffn) | ((d >> 12n) & 0xffffff00n);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

/**
 * The resident KiB of a /proc/<pid>/smaps' mappings of one file, known by device and inode (a
 * jailed VMM sees the file under another path).
 */
export function mappedKiB(smaps: string, file: { device: string; inode: number }): number {
  let total = 0;
  let inFile = false;
  for (const line of smaps.split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ [0-9a-f]+ ([0-9a-f]+:[0-9a-f]+) (\d+)/.exec(line);
    if (header) inFile = header[1] === file.device && Number(header[2]) === file.inode;
    else if (inFile && line.startsWith('Rss:')) total += kibField(line, 'Rss');
  }
  return total;
}

/**
 * Which of `ids` a process belongs to: it runs in the sandbox's host cgroup (`/moat/<id>`: the
 * VMM and the helpers the runtime moves in) or its command line names the sandbox (QEMU's
 * `-name moat-<id>`, virtiofsd's socket path, bubblewrap's binds of the sandbox's run dir).
 */
export function ownerOf(process: Pick<HostProcess, 'argv' | 'cgroup'>, ids: readonly string[]): string | undefined {
  const cgroups = process.cgroup.split('\n');
  return ids.find((id) => cgroups.some((line) => line.endsWith(`:/${CGROUP_PARENT}/${id}`)) || process.argv.some((arg) => arg.includes(id)));
}

/** The host's user processes (kernel threads, which have no command line, left out). */
export function hostProcesses(): HostProcess[] {
  const found: HostProcess[] = [];
  for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv.length > 0) found.push({ pid: Number(name), argv, cgroup: readFileSync(`/proc/${name}/cgroup`, 'utf8') });
    } catch {
      // Exited meanwhile.
    }
  }
  return found;
}

/** A process's PSS; none once it has exited. */
export function processPss(pid: number): Pss {
  try {
    return parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    return NO_PSS;
  }
}

/** A process's resident set in MiB. */
export function rssMiB(pid: number): number {
  return Math.round(kibField(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS') / 1024);
}

/** The host's MemAvailable, in KiB. */
export function memAvailableKiB(): number {
  return kibField(readFileSync('/proc/meminfo', 'utf8'), 'MemAvailable');
}

/**
 * KiB of a tmpfs file (a restored VM's RAM file) that no process of `pids` has mapped: host memory
 * that no PSS counts. What the processes map is taken as the largest mapping, not their union.
 */
export function unmappedFileKiB(path: string, pids: readonly number[]): number {
  const stat = statSync(path);
  const file = { device: smapsDevice(stat.dev), inode: stat.ino };
  let mapped = 0;
  for (const pid of pids) {
    try {
      mapped = Math.max(mapped, mappedKiB(readFileSync(`/proc/${pid}/smaps`, 'utf8'), file));
    } catch {
      // Exited meanwhile.
    }
  }
  return Math.max(0, (stat.blocks * 512) / 1024 - mapped);
}

/** `qemu-system-x86_64`, `virtiofsd ×2`: the kinds of processes, by program name. */
export function programNames(processes: readonly HostProcess[]): string {
  const counts = new Map<string, number>();
  for (const p of processes) counts.set(basename(p.argv[0]), (counts.get(basename(p.argv[0])) ?? 0) + 1);
  return [...counts].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name)).join(', ');
}
