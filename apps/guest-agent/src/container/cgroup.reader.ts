import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StatsContainerResponse } from '@moat/proto';

export const CGROUP_ROOT = '/sys/fs/cgroup';

/** The cgroup v2 directory of a process, from `/proc/<pid>/cgroup` (`0::/path`). */
export async function cgroupDirOf(pid: number, root = CGROUP_ROOT): Promise<string | undefined> {
  const text = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '');
  const line = text.split('\n').find((entry) => entry.startsWith('0::'));
  return line ? join(root, line.slice(3)) : undefined;
}

/** Parses flat-keyed cgroup files (`cpu.stat`, `memory.events`): `key value` per line. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) values.set(key, Number(value));
  }
  return values;
}

/** Sums `rbytes`/`wbytes` over the devices of `io.stat`. */
export function parseIoStat(text: string): { readBytes: number; writeBytes: number } {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of text.split('\n')) {
    for (const field of line.trim().split(/\s+/).slice(1)) {
      const [key, value] = field.split('=');
      if (key === 'rbytes') readBytes += Number(value) || 0;
      if (key === 'wbytes') writeBytes += Number(value) || 0;
    }
  }
  return { readBytes, writeBytes };
}

/** A single-value file: a number, or 0 for "max" and for a controller that is not enabled. */
export function parseSingle(text: string): number {
  const value = text.trim();
  return /^\d+$/.test(value) ? Number(value) : 0;
}

/** Reads a container's resource use from its cgroup directory. */
export class CgroupReader {
  constructor(private readonly dir: string) {}

  async stats(): Promise<StatsContainerResponse> {
    const [cpu, memory, peak, limit, events, pids, pidsMax, io] = await Promise.all(
      ['cpu.stat', 'memory.current', 'memory.peak', 'memory.max', 'memory.events', 'pids.current', 'pids.max', 'io.stat'].map(
        (file) => this.read(file),
      ),
    );
    const cpuStat = parseFlatKeyed(cpu);
    return {
      cpu: {
        usageUsec: cpuStat.get('usage_usec') ?? 0,
        userUsec: cpuStat.get('user_usec') ?? 0,
        systemUsec: cpuStat.get('system_usec') ?? 0,
      },
      memory: {
        currentBytes: parseSingle(memory),
        maxBytes: parseSingle(peak),
        limitBytes: parseSingle(limit),
        oomKills: parseFlatKeyed(events).get('oom_kill') ?? 0,
      },
      pids: { current: parseSingle(pids), limit: parseSingle(pidsMax) },
      io: parseIoStat(io),
    };
  }

  /** The pids in the cgroup (not its children's), ascending, at most `limit`. */
  async pids(limit: number): Promise<number[]> {
    const pids = (await this.read('cgroup.procs'))
      .split('\n')
      .filter((line) => /^\d+$/.test(line))
      .map(Number);
    return pids.sort((a, b) => a - b).slice(0, limit);
  }

  async oomKills(): Promise<number> {
    return parseFlatKeyed(await this.read('memory.events')).get('oom_kill') ?? 0;
  }

  /** A file the kernel does not offer (controller off, older kernel) reads as empty. */
  private read(file: string): Promise<string> {
    return readFile(join(this.dir, file), 'utf8').catch(() => '');
  }
}
