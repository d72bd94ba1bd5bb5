import { statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { JailMount, JailSpec } from '../../jail/jail-spec';
import type { SharedFsAttachment } from '../../sharefs/shared-fs';
import type { QemuMachine } from './qemu-cmdline';

/** Where the jailed QEMU sees what it needs. */
export const JAIL_PATHS = {
  kernel: '/vm/kernel',
  initrd: '/vm/initrd',
  rootfsImage: '/vm/rootfs.img',
  memory: '/vm/memory',
  disk: '/vm/disk.img',
  share: '/share',
  /** The VMM's socket dir, its one writable directory. */
  sockets: '/run',
} as const;

/**
 * 9p is served by QEMU itself, from files of every owner: the file-server capabilities virtiofsd
 * also keeps, and a read-only /proc of its own (see JailSpec.proc).
 */
export const NINEP_CAPABILITIES = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID'];
/** QEMU's fds: vCPU and virtqueue eventfds, block and 9p files. Bounded, but with room for a busy 9p share. */
const MAX_OPEN_FILES = 4096;

/** Where the jailed VMM sees a socket of its socket dir. */
export function jailSocketPath(path: string, socketDir: string): string {
  if (dirname(path) !== socketDir) throw new Error(`socket ${path} is not in the VM's socket dir ${socketDir}`);
  return join(JAIL_PATHS.sockets, basename(path));
}

export interface QemuJailInput {
  machine: QemuMachine;
  /** The host dir holding the machine's sockets. */
  socketDir: string;
  uid: number;
  gid: number;
  /** Device nodes the machine needs beyond null/zero/urandom (/dev/kvm, /dev/vhost-vsock). */
  devices: string[];
}

/**
 * The machine as the jailed QEMU sees it, and the jail that shows it exactly that: its guest image
 * files read-only, its RAM file, disk or 9p share read-write, its socket dir, and a minimal /dev.
 * Everything else of the host is out of sight. Host paths in the machine are replaced by jail paths.
 */
export function jailQemu(input: QemuJailInput, stat = statSync): { machine: QemuMachine; spec: JailSpec } {
  const { machine: m, socketDir } = input;
  const mounts: JailMount[] = [];
  const bind = (host: string, jail: string, access: JailMount['access']) => {
    mounts.push({ host, jail, access });
    return jail;
  };
  const socket = (path: string) => jailSocketPath(path, socketDir);
  bind(socketDir, JAIL_PATHS.sockets, 'rw');
  const machine: QemuMachine = {
    ...m,
    kernel: bind(m.kernel, JAIL_PATHS.kernel, 'ro'),
    initrd: bind(m.initrd, JAIL_PATHS.initrd, 'ro'),
    rootfsImage: { ...m.rootfsImage, path: bind(m.rootfsImage.path, JAIL_PATHS.rootfsImage, 'ro') },
    qmpSocket: socket(m.qmpSocket),
    agent: { ...m.agent, socketPath: socket(m.agent.socketPath) },
    memory: m.memory.kind === 'file' ? { kind: 'file', path: bind(m.memory.path, JAIL_PATHS.memory, 'rw') } : m.memory,
    seccomp: true,
  };
  const inJail = (share: SharedFsAttachment): SharedFsAttachment => {
    switch (share.kind) {
      case '9p':
        return { ...share, hostPath: bind(share.hostPath, JAIL_PATHS.share, 'rw') };
      case 'block':
        return { ...share, imagePath: bind(share.imagePath, JAIL_PATHS.disk, 'rw') };
      case 'virtiofs':
        return { ...share, socketPath: socket(share.socketPath) };
    }
  };
  if (m.sharedFs) machine.sharedFs = inJail(m.sharedFs);
  if (m.hotplug?.share) machine.hotplug = { ...m.hotplug, share: inJail(m.hotplug.share) };
  const share = m.sharedFs;
  const devices = ['/dev/null', '/dev/zero', '/dev/urandom', ...input.devices];
  for (const device of devices) bind(device, device, 'dev');
  // Device nodes QEMU opens beyond the world-readable ones belong to a group (kvm): the jail's uid joins it.
  const groups = [...new Set(input.devices.map((device) => stat(device).gid))].filter((gid) => gid !== 0);
  return {
    machine,
    spec: {
      uid: input.uid,
      gid: input.gid,
      groups,
      mounts,
      capabilities: share?.kind === '9p' ? NINEP_CAPABILITIES : [],
      maxOpenFiles: MAX_OPEN_FILES,
      // QEMU 7.2's 9p server changes modes and xattrs through /proc/self/fd/N.
      ...(share?.kind === '9p' && { proc: true }),
    },
  };
}
