// The host objects a sandbox holds outside any data dir — VMM, jail, virtiofsd and shim processes,
// mounts, the RAM files of VMs restored from boot snapshots, jail uid leases, host cgroups,
// network namespaces and links —
// listed so a test run can prove it left none behind (e2e/support/leaks.mjs looks for one stack's
// objects by data dir and sandbox id; this compares the whole host before and after).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A sandbox's processes outside the node agent: its VMM, jail and virtiofsd, and a containerd task's shim daemon. */
const VMM_PROCESS = /qemu-system|virtiofsd|bwrap|containerd-shim-moat/;
/** Host-wide jail uid leases (DEFAULT_JAIL_IDS_DIR in runtime-core), one file per leased uid. */
const JAIL_IDS_DIR = '/run/moat/jail-ids';
/** The cgroup every sandbox's host cgroup lives under (runtime-core's default cgroupParent). */
const CGROUP_PARENT = 'moat';

/**
 * iproute2 turns /run/netns into a shared bind mount of itself on the first `ip netns add`, so
 * namespaces created later propagate to every mount namespace, and keeps it by design.
 */
const HOST_TOOL_MOUNTS = new Set(['/run/netns']);

/** Running QEMU, jail, virtiofsd and shim processes as `pid: command line`. */
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

/** Leased jail uids, as `uid: owner`. */
export function jailIdLeases() {
  if (!existsSync(JAIL_IDS_DIR)) return [];
  return readdirSync(JAIL_IDS_DIR).map((uid) => `${uid}: ${readFileSync(join(JAIL_IDS_DIR, uid), 'utf8').trim()}`);
}

/** Sandbox host cgroups, in every cgroup hierarchy mounted (v1 controllers and v2). */
export function sandboxCgroups() {
  const found = [];
  for (const m of mounts().filter((mount) => mount.fstype === 'cgroup' || mount.fstype === 'cgroup2')) {
    const parent = join(m.target, CGROUP_PARENT);
    if (!existsSync(parent)) continue;
    for (const entry of readdirSync(parent, { withFileTypes: true })) if (entry.isDirectory()) found.push(join(parent, entry.name));
  }
  return found;
}

/** Network namespaces named under /run/netns (`ip netns add`; a sandbox's is `moat-<id>`). */
export function networkNamespaces() {
  return existsSync('/run/netns') ? readdirSync('/run/netns') : [];
}

/** Network links of this host's namespace (taps, veths, bridges a sandbox's network adds). */
export function hostLinks() {
  return readdirSync('/sys/class/net');
}

/** What a later `leftSince` compares against. */
export function snapshotHostObjects() {
  return {
    netns: new Set(networkNamespaces()),
    links: new Set(hostLinks()),
    processes: new Set(vmmProcesses()),
    mounts: new Set(mounts().map((m) => m.target)),
    memory: new Set(guestMemoryFiles()),
    jailIds: new Set(jailIdLeases()),
    cgroups: new Set(sandboxCgroups()),
  };
}

/** VMM processes, mounts, RAM files, jail uids, cgroups, network namespaces and links that exist now and did not at the snapshot. */
export function leftSince(snapshot) {
  const netns = networkNamespaces().filter((n) => !snapshot.netns.has(n));
  const links = hostLinks().filter((l) => !snapshot.links.has(l));
  const processes = vmmProcesses().filter((p) => !snapshot.processes.has(p));
  const newMounts = mounts().filter((m) => !snapshot.mounts.has(m.target) && !HOST_TOOL_MOUNTS.has(m.target));
  const memory = guestMemoryFiles().filter((f) => !snapshot.memory.has(f));
  const jailIds = jailIdLeases().filter((l) => !snapshot.jailIds.has(l));
  const cgroups = sandboxCgroups().filter((c) => !snapshot.cgroups.has(c));
  return [
    ...jailIds.map((l) => `jail uid lease ${l}`),
    ...cgroups.map((c) => `cgroup ${c}`),
    ...memory.map((f) => `guest memory file ${f}`),
    ...processes.map((p) => `process ${p.slice(0, 300)}`),
    ...newMounts.map((m) => `mount ${m.target} (${m.fstype} from ${m.source})`),
    ...netns.map((n) => `network namespace ${n}`),
    ...links.map((l) => `link ${l}`),
  ];
}
