import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { detectCgroups, parseCgroupMounts } from './cgroups';
import { JailErrorCode } from './jail.errors';

const limits = { cpu: { quotaUs: 150_000, periodUs: 100_000 }, memoryBytes: 512 * 1024 * 1024, pids: 512 };

/** A directory laid out like a host's cgroup mounts, and the mountinfo naming them. */
function fakeHost(dir: string, layout: 'v2' | 'hybrid' | 'none'): string {
  const lines: string[] = [];
  const mount = (path: string, fstype: string, superOptions: string) => {
    mkdirSync(path, { recursive: true });
    lines.push(`${lines.length + 30} 23 0:${lines.length + 28} / ${path} rw,relatime - ${fstype} ${fstype} ${superOptions}`);
  };
  if (layout === 'v2') {
    mount(join(dir, 'cg'), 'cgroup2', 'rw');
    writeFileSync(join(dir, 'cg', 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids\n');
  }
  if (layout === 'hybrid') {
    for (const c of ['cpu,cpuacct', 'memory', 'pids']) mount(join(dir, c), 'cgroup', `rw,${c}`);
    mount(join(dir, 'unified'), 'cgroup2', 'rw');
    writeFileSync(join(dir, 'unified', 'cgroup.controllers'), '\n');
  }
  const mountinfo = join(dir, 'mountinfo');
  writeFileSync(mountinfo, `${lines.join('\n')}\n`);
  return mountinfo;
}

describe('cgroups', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cgroups-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('uses cgroup v2 where the unified hierarchy offers cpu, memory and pids, enabling them down to the sandbox', async () => {
    const cgroups = await detectCgroups('moat', fakeHost(dir, 'v2'));
    expect(cgroups.version).toBe('v2');
    await cgroups.create('sb1', limits);
    const read = (...p: string[]) => readFileSync(join(dir, 'cg', ...p), 'utf8');
    expect(read('cgroup.subtree_control')).toBe('+cpu +memory +pids');
    expect(read('moat', 'cgroup.subtree_control')).toBe('+cpu +memory +pids');
    expect(read('moat', 'sb1', 'cpu.max')).toBe('150000 100000');
    expect(read('moat', 'sb1', 'memory.max')).toBe(String(512 * 1024 * 1024));
    expect(read('moat', 'sb1', 'pids.max')).toBe('512');
    await cgroups.enter('sb1', 4242);
    expect(read('moat', 'sb1', 'cgroup.procs')).toBe('4242');
    writeFileSync(join(dir, 'cg', 'moat', 'sb1', 'memory.events'), 'low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\n');
    await expect(cgroups.oomKills('sb1')).resolves.toBe(1);
    expect(cgroups.path('sb1')).toBe('/moat/sb1');
  });

  it('falls back to the v1 hierarchies when the unified one has no controllers (v1 controllers with v2 beside them)', async () => {
    const cgroups = await detectCgroups('moat', fakeHost(dir, 'hybrid'));
    expect(cgroups.version).toBe('v1');
    mkdirSync(join(dir, 'memory', 'moat', 'sb1'), { recursive: true });
    writeFileSync(join(dir, 'memory', 'moat', 'sb1', 'memory.memsw.limit_in_bytes'), '9223372036854771712');
    writeFileSync(join(dir, 'memory', 'moat', 'sb1', 'memory.limit_in_bytes'), '9223372036854771712');
    await cgroups.create('sb1', limits);
    const read = (...p: string[]) => readFileSync(join(dir, ...p), 'utf8');
    expect(read('cpu,cpuacct', 'moat', 'sb1', 'cpu.cfs_quota_us')).toBe('150000');
    expect(read('cpu,cpuacct', 'moat', 'sb1', 'cpu.cfs_period_us')).toBe('100000');
    expect(read('memory', 'moat', 'sb1', 'memory.limit_in_bytes')).toBe(String(512 * 1024 * 1024));
    expect(read('memory', 'moat', 'sb1', 'memory.memsw.limit_in_bytes')).toBe(String(512 * 1024 * 1024));
    expect(read('pids', 'moat', 'sb1', 'pids.max')).toBe('512');
    await cgroups.enter('sb1', 4242);
    for (const c of ['cpu,cpuacct', 'memory', 'pids']) expect(read(c, 'moat', 'sb1', 'cgroup.procs')).toBe('4242');
    writeFileSync(join(dir, 'memory', 'moat', 'sb1', 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 3\n');
    await expect(cgroups.oomKills('sb1')).resolves.toBe(3);
  });

  it('raises memory+swap before the memory limit when growing (v1 refuses memsw below the limit)', async () => {
    const cgroups = await detectCgroups('moat', fakeHost(dir, 'hybrid'));
    const memory = join(dir, 'memory', 'moat', 'sb1');
    mkdirSync(memory, { recursive: true });
    writeFileSync(join(memory, 'memory.limit_in_bytes'), '100');
    writeFileSync(join(memory, 'memory.memsw.limit_in_bytes'), '100');
    await cgroups.setMemoryLimit('sb1', 200);
    expect(readFileSync(join(memory, 'memory.memsw.limit_in_bytes'), 'utf8')).toBe('200');
    expect(readFileSync(join(memory, 'memory.limit_in_bytes'), 'utf8')).toBe('200');
  });

  it('says so when the host has no usable hierarchy', async () => {
    await expect(detectCgroups('moat', fakeHost(dir, 'none'))).rejects.toMatchObject({ code: JailErrorCode.CGROUPS_UNAVAILABLE });
  });

  it('parses mount points with escaped spaces and v1 controller lists', () => {
    const parsed = parseCgroupMounts('32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n41 31 0:38 / /my\\040cg rw - cgroup2 cgroup2 rw\n');
    expect(parsed).toEqual({ v1: [{ dir: '/sys/fs/cgroup/cpu,cpuacct', controllers: ['rw', 'cpu', 'cpuacct'] }], v2: ['/my cg'] });
  });
});
