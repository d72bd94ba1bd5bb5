// The host objects a sandbox holds outside any data dir — VMM and virtiofsd processes, mounts and
// the RAM files of VMs restored from boot snapshots — listed so a test run can prove it left none behind (e2e/support/leaks.mjs looks for one
// stack's objects by data dir and sandbox id; this compares the whole host before and after).
import { readdirSync, readFileSync } from 'node:fs';

const VMM_PROCESS = /qemu-system|virtiofsd/;

/**
 * iproute2 turns /run/netns into a shared bind mount of itself on the first `ip netns add`, so
 * namespaces created later propagate to every mount namespace, and keeps it by design.
 */
const HOST_TOOL_MOUNTS = new Set(['/run/netns']);

/** Running QEMU and virtiofsd processes as `pid: command line`. */
export function vmmProcesses() {
  const found = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    } catch {
      continue; // exited meanwhile
    }
    if (VMM_PROCESS.test(cmdline)) found.push(`${pid}: ${cmdline}`);
  }
  return found;
}

/** This mount namespace's mount points, with their source and type. */
export function mounts() {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [, rest] = line.split(' - ');
      const [fstype = '', source = ''] = rest?.split(' ') ?? [];
      return { target: line.split(' ')[4], source, fstype };
    });
}

/** Where the runtime keeps restored VMs' RAM (DEFAULT_MEMORY_DIR in runtime-core). */
const GUEST_MEMORY_DIR = '/dev/shm/moat';

/** RAM files of restored VMs, as paths. */
export function guestMemoryFiles() {
  try {
    return readdirSync(GUEST_MEMORY_DIR).map((name) => `${GUEST_MEMORY_DIR}/${name}`);
  } catch {
    return [];
  }
}

/** What a later `leftSince` compares against. */
export function snapshotHostObjects() {
  return { processes: new Set(vmmProcesses()), mounts: new Set(mounts().map((m) => m.target)), memory: new Set(guestMemoryFiles()) };
}

/** VMM processes and mounts that exist now and did not at the snapshot. */
export function leftSince(snapshot) {
  const processes = vmmProcesses().filter((p) => !snapshot.processes.has(p));
  const newMounts = mounts().filter((m) => !snapshot.mounts.has(m.target) && !HOST_TOOL_MOUNTS.has(m.target));
  const memory = guestMemoryFiles().filter((f) => !snapshot.memory.has(f));
  return [
    ...memory.map((f) => `guest memory file ${f}`),
    ...processes.map((p) => `process ${p.slice(0, 300)}`),
    ...newMounts.map((m) => `mount ${m.target} (${m.fstype} from ${m.source})`),
  ];
}
