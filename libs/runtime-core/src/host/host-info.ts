import { constants } from 'node:fs';
import { access, mkdir, open, readFile, statfs } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { delimiter, join } from 'node:path';

/** How the host runs guest code: KVM hardware virtualisation, or QEMU's TCG emulation. */
export type Accel = 'kvm' | 'tcg';

/** What this host can offer sandboxes. */
export interface HostInfo {
  vcpus: number;
  memoryMiB: number;
  accel: Accel;
  /** VMM binaries found on PATH: `qemu`, `firecracker`, `cloud-hypervisor`. */
  hypervisors: string[];
}

const HYPERVISOR_BINARIES: Record<string, string> = {
  qemu: 'qemu-system-x86_64',
  firecracker: 'firecracker',
  'cloud-hypervisor': 'cloud-hypervisor',
};

/**
 * KVM is usable only if /dev/kvm opens read-write AND the CPU has hardware virtualisation
 * (vmx/svm). The second check matters: some cloud hosts expose /dev/kvm backed by a
 * paravirtual backend (kvm-pvm) that cannot run a stock guest kernel (it dies on
 * `lock cmpxchg16b`), so a present device is not enough.
 */
export async function kvmUsable(device = '/dev/kvm', cpuinfo = '/proc/cpuinfo'): Promise<boolean> {
  try {
    const flags = /^flags\s*:(.*)$/m.exec(await readFile(cpuinfo, 'utf8'))?.[1] ?? '';
    if (!/\b(vmx|svm)\b/.test(flags)) return false;
    const handle = await open(device, constants.O_RDWR);
    await handle.close();
    return true;
  } catch {
    return false;
  }
}

/** QEMU's `vhost-vsock-pci` needs `/dev/vhost-vsock` read-write (the vhost_vsock module). */
export async function vhostVsockUsable(device = '/dev/vhost-vsock'): Promise<boolean> {
  try {
    const handle = await open(device, constants.O_RDWR);
    await handle.close();
    return true;
  } catch {
    return false;
  }
}

const TMPFS_MAGIC = 0x01021994;

/** True when `dir` (created if missing) is on tmpfs, where guest RAM may live without touching a disk. */
export async function onTmpfs(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return (await statfs(dir)).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

export async function resolveAccel(requested: 'auto' | Accel = 'auto'): Promise<Accel> {
  if (requested !== 'auto') return requested;
  return (await kvmUsable()) ? 'kvm' : 'tcg';
}

async function onPath(binary: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    try {
      await access(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}

async function memTotalMiB(): Promise<number> {
  const meminfo = await readFile('/proc/meminfo', 'utf8');
  const kib = Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? 0);
  return Math.floor(kib / 1024);
}

/** Probes the host's CPUs, memory, acceleration and installed VMMs. */
export async function detectHost(accel: 'auto' | Accel = 'auto'): Promise<HostInfo> {
  const names = Object.keys(HYPERVISOR_BINARIES);
  const found = await Promise.all(names.map((name) => onPath(HYPERVISOR_BINARIES[name])));
  return {
    vcpus: availableParallelism(),
    memoryMiB: await memTotalMiB(),
    accel: await resolveAccel(accel),
    hypervisors: names.filter((_, i) => found[i]),
  };
}
