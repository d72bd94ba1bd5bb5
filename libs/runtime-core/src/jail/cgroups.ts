import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathExists } from '../host/fs.helpers';
import { JailError, JailErrorCode } from './jail.errors';

/** What one sandbox's VMM and its helpers may take from the host. */
export interface CgroupLimits {
  /** CPU time per period, in microseconds; `quotaUs / periodUs` cores. */
  cpu: { quotaUs: number; periodUs: number };
  memoryBytes: number;
  pids: number;
}

/** The controllers a sandbox cgroup limits. */
const CONTROLLERS = ['cpu', 'memory', 'pids'] as const;
type Controller = (typeof CONTROLLERS)[number];

/** How long a removal waits for killed processes to leave the cgroup before rmdir. */
const EMPTY_WAIT_MS = 5_000;

/**
 * One cgroup per sandbox, named `<parent>/<name>`, on cgroup v2 where the host's unified
 * hierarchy has the cpu, memory and pids controllers, else on the v1 hierarchies of those
 * controllers (hosts that mount v1 controllers with a v2 hierarchy beside them, as the
 * development machines do). Everything it writes is a plain cgroupfs file, so the same code runs
 * against a directory that mimics one in the unit tests.
 */
export abstract class Cgroups {
  abstract readonly version: 'v1' | 'v2';

  /** The sandbox cgroup as `/proc/<pid>/cgroup` names it: `/<parent>/<name>`. */
  path(name: string): string {
    return `/${this.parent}/${name}`;
  }

  protected constructor(protected readonly parent: string) {}

  /** Creates the cgroup with its limits (again: only updates the limits). */
  abstract create(name: string, limits: CgroupLimits): Promise<void>;
  /** Moves a process (all its threads) into the cgroup. */
  abstract enter(name: string, pid: number): Promise<void>;
  /** How many times the kernel's OOM killer killed a process of the cgroup. */
  abstract oomKills(name: string): Promise<number>;
  /** Lowers or raises the memory limit of a running sandbox. */
  abstract setMemoryLimit(name: string, bytes: number): Promise<void>;
  /** The pids in the cgroup. */
  abstract procs(name: string): Promise<number[]>;
  /** Kills whatever still runs in the cgroup and removes it; idempotent. */
  async remove(name: string): Promise<void> {
    const dirs = this.dirs(name);
    if (!(await Promise.all(dirs.map(pathExists))).some(Boolean)) return;
    const deadline = Date.now() + EMPTY_WAIT_MS;
    for (;;) {
      const pids = await this.procs(name);
      if (pids.length === 0) break;
      for (const pid of pids) killQuietly(pid);
      if (Date.now() > deadline) throw new JailError(JailErrorCode.CGROUP_FAILED, `cgroup ${this.path(name)} still holds ${pids.join(', ')}`);
      await sleep(20);
    }
    for (const dir of dirs) {
      await rmdir(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw new JailError(JailErrorCode.CGROUP_FAILED, `remove cgroup ${dir}`, { cause: error });
      });
    }
  }

  /** Every directory the cgroup has (one per hierarchy). */
  protected abstract dirs(name: string): string[];

  protected async write(file: string, value: string): Promise<void> {
    try {
      await writeFile(file, value);
    } catch (cause) {
      throw new JailError(JailErrorCode.CGROUP_FAILED, `write ${value.trim()} to ${file}`, { cause });
    }
  }
}

class CgroupsV2 extends Cgroups {
  readonly version = 'v2';
  private ready = false;

  constructor(
    private readonly mount: string,
    parent: string,
  ) {
    super(parent);
  }

  async create(name: string, limits: CgroupLimits): Promise<void> {
    await this.ensureParent();
    const dir = join(this.mount, this.parent, name);
    await mkdir(dir, { recursive: true });
    await this.write(join(dir, 'cpu.max'), `${limits.cpu.quotaUs} ${limits.cpu.periodUs}`);
    await this.write(join(dir, 'memory.max'), String(limits.memoryBytes));
    // The limit means RAM: a VMM pushed to swap would only be slower, not bounded.
    if (await pathExists(join(dir, 'memory.swap.max'))) await this.write(join(dir, 'memory.swap.max'), '0');
    await this.write(join(dir, 'pids.max'), String(limits.pids));
  }

  async enter(name: string, pid: number): Promise<void> {
    await this.write(join(this.mount, this.parent, name, 'cgroup.procs'), String(pid));
  }

  async oomKills(name: string): Promise<number> {
    return counter(await readFile(join(this.mount, this.parent, name, 'memory.events'), 'utf8').catch(() => ''), 'oom_kill');
  }

  async setMemoryLimit(name: string, bytes: number): Promise<void> {
    await this.write(join(this.mount, this.parent, name, 'memory.max'), String(bytes));
  }

  async procs(name: string): Promise<number[]> {
    return pidList(await readFile(join(this.mount, this.parent, name, 'cgroup.procs'), 'utf8').catch(() => ''));
  }

  protected dirs(name: string): string[] {
    return [join(this.mount, this.parent, name)];
  }

  /** The controllers must be enabled down the tree: at the root and in the parent. */
  private async ensureParent(): Promise<void> {
    if (this.ready) return;
    const enable = CONTROLLERS.map((c) => `+${c}`).join(' ');
    await this.write(join(this.mount, 'cgroup.subtree_control'), enable);
    let dir = this.mount;
    for (const part of this.parent.split('/')) {
      dir = join(dir, part);
      await mkdir(dir, { recursive: true });
      await this.write(join(dir, 'cgroup.subtree_control'), enable);
    }
    this.ready = true;
  }
}

class CgroupsV1 extends Cgroups {
  readonly version = 'v1';

  constructor(
    private readonly mounts: Record<Controller, string>,
    parent: string,
  ) {
    super(parent);
  }

  async create(name: string, limits: CgroupLimits): Promise<void> {
    for (const dir of this.dirs(name)) await mkdir(dir, { recursive: true });
    const cpu = this.dir('cpu', name);
    await this.write(join(cpu, 'cpu.cfs_period_us'), String(limits.cpu.periodUs));
    await this.write(join(cpu, 'cpu.cfs_quota_us'), String(limits.cpu.quotaUs));
    await this.setMemoryLimit(name, limits.memoryBytes);
    await this.write(join(this.dir('pids', name), 'pids.max'), String(limits.pids));
  }

  async enter(name: string, pid: number): Promise<void> {
    // A hierarchy shared by two controllers (cpu,cpuacct) is one directory: entered once.
    for (const dir of new Set(this.dirs(name))) await this.write(join(dir, 'cgroup.procs'), String(pid));
  }

  async oomKills(name: string): Promise<number> {
    return counter(await readFile(join(this.dir('memory', name), 'memory.oom_control'), 'utf8').catch(() => ''), 'oom_kill');
  }

  /** With swap accounting, memory+swap gets the same bound, so the limit means RAM. */
  async setMemoryLimit(name: string, bytes: number): Promise<void> {
    const dir = this.dir('memory', name);
    const memsw = join(dir, 'memory.memsw.limit_in_bytes');
    const hasMemsw = await pathExists(memsw);
    // memsw must never be below the memory limit: raise it first when growing, lower it last when shrinking.
    const current = Number((await readFile(join(dir, 'memory.limit_in_bytes'), 'utf8').catch(() => '0')).trim());
    if (hasMemsw && bytes > current) await this.write(memsw, String(bytes));
    await this.write(join(dir, 'memory.limit_in_bytes'), String(bytes));
    if (hasMemsw && bytes <= current) await this.write(memsw, String(bytes));
  }

  async procs(name: string): Promise<number[]> {
    const all = await Promise.all(this.dirs(name).map((dir) => readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '')));
    return [...new Set(all.flatMap(pidList))];
  }

  protected dirs(name: string): string[] {
    return [...new Set(CONTROLLERS.map((c) => this.dir(c, name)))];
  }

  private dir(controller: Controller, name: string): string {
    return join(this.mounts[controller], this.parent, name);
  }
}

/**
 * Finds the hierarchy to use from the host's mount table: cgroup v2 when its unified mount offers
 * cpu, memory and pids, else the v1 mounts of those controllers. `parent` (e.g. `moat`) groups
 * every sandbox cgroup under one directory of each hierarchy.
 */
export async function detectCgroups(parent: string, mountinfo = '/proc/self/mountinfo'): Promise<Cgroups> {
  const mounts = parseCgroupMounts(await readFile(mountinfo, 'utf8'));
  for (const unified of mounts.v2) {
    const available = (await readFile(join(unified, 'cgroup.controllers'), 'utf8').catch(() => '')).split(/\s+/);
    if (CONTROLLERS.every((c) => available.includes(c))) return new CgroupsV2(unified, parent);
  }
  const v1 = CONTROLLERS.map((c) => mounts.v1.find((m) => m.controllers.includes(c))?.dir);
  if (v1.every((dir): dir is string => dir !== undefined)) {
    return new CgroupsV1({ cpu: v1[0], memory: v1[1], pids: v1[2] }, parent);
  }
  throw new JailError(
    JailErrorCode.CGROUPS_UNAVAILABLE,
    'no cgroup hierarchy offers the cpu, memory and pids controllers (neither a cgroup2 mount with them enabled nor v1 mounts of each)',
  );
}

/** cgroup mounts from a mountinfo text: the v2 mount points, and each v1 mount with its controllers. */
export function parseCgroupMounts(mountinfo: string): { v2: string[]; v1: { dir: string; controllers: string[] }[] } {
  const v2: string[] = [];
  const v1: { dir: string; controllers: string[] }[] = [];
  for (const line of mountinfo.split('\n')) {
    // `id parent major:minor root mountpoint options [optional…] - fstype source superoptions`
    const [left, right] = line.split(' - ');
    if (!right) continue;
    const dir = left.split(' ')[4].replace(/\\040/g, ' ');
    const [fstype, , superOptions = ''] = right.split(' ');
    if (fstype === 'cgroup2') v2.push(dir);
    if (fstype === 'cgroup') v1.push({ dir, controllers: superOptions.split(',') });
  }
  return { v2, v1 };
}

function counter(text: string, key: string): number {
  const match = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

function pidList(text: string): number[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(Number);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}
