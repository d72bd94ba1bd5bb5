import type { SharedFsAttachment } from '../../sharefs/shared-fs';
import type { RootfsImage } from '../hypervisor';
import type { Accel } from '../../host/host-info';

/**
 * What is plugged into a machine's empty root ports over QMP: its share (as QEMU sees its path)
 * and its NIC, whose `fd` is a descriptor QEMU holds: a number it inherited, or a name `getfd` gave.
 */
export interface HotplugDevices {
  share?: SharedFsAttachment;
  nic?: { fd: number | string; mac: string };
}

/** A typed description of one QEMU microVM-style machine; `buildQemuArgv` is its only reader. */
export interface QemuMachine {
  name: string;
  accel: Accel;
  vcpus: number;
  memoryMiB: number;
  kernel: string;
  initrd: string;
  kernelParams: readonly string[];
  /**
   * Guest RAM. vhost-user-fs (virtio-fs) maps it in virtiofsd, so it must be shareable: a memfd,
   * or a file on tmpfs, which is also what a boot snapshot saves and its clones restore.
   */
  memory: { kind: 'anonymous' } | { kind: 'memfd' } | { kind: 'file'; path: string };
  /**
   * Raw ext4, mapped read-only and shared (a virtio-pmem device): the guest mounts it with DAX,
   * so its pages stay in the host's page cache, one copy for every VM of the node.
   */
  rootfsImage: RootfsImage;
  qmpSocket: string;
  agent: { socketPath: string; portName: string };
  /** Absent: a boot-snapshot machine, whose share (if not 9p) is hot-plugged after restore. */
  sharedFs?: SharedFsAttachment;
  /** A virtio-net NIC backed by an inherited TAP or macvtap descriptor: QEMU opens no network device itself. */
  nic?: { fd: number; mac: string };
  /** vhost-vsock (needs /dev/vhost-vsock on the host); the agent also listens on vsock port 1024. */
  vsock?: { guestCid: number };
  /**
   * A machine that is saved as a boot snapshot, or restored from one (see qemu.snapshot.ts):
   * PCIe root ports for the sandbox's devices. `devicesOnPorts`: the share and NIC on the command
   * line go into those ports, where a restored VM had them hot-plugged (a hibernated one woken).
   */
  snapshot?: { devicesOnPorts?: boolean };
  /** Waits paused for a saved state (`migrate-incoming`) instead of booting. */
  incoming?: boolean;
  /** What is hot-plugged into a restored machine's root ports over QMP (not on its command line). */
  hotplug?: HotplugDevices;
  /**
   * QEMU's own seccomp filter: no obsolete syscalls, no setuid, no fork/exec, no scheduler or
   * resource changes. With `spawn=deny` a `migrate` to `exec:` kills the VMM instead of running a command.
   */
  seccomp: boolean;
}

const MIB = 1024 * 1024;

/** Under TCG, the translated-code cache: bounded, because QEMU's 1 GiB default fills up over a VM's life. */
export const TCG_TB_SIZE_MIB = 56;

/** The root ports a boot-snapshot machine leaves empty, and what is plugged into each after restore. */
export const HOTPLUG_PORTS = { share: 'hp-share', nic: 'hp-nic' } as const;

/** QEMU splits option values on commas; a literal comma is written twice. */
export function esc(value: string): string {
  return value.replaceAll(',', ',,');
}

/** The ids and root ports QMP hot-plugs a restored VM's share and NIC with (see plugSandboxDevices). */
export const HOTPLUG_IDS = { share: 'share', nic: 'nic0' } as const;

export function buildQemuArgv(m: QemuMachine): string[] {
  // Where a woken VM's devices go: the ports a restored one had them hot-plugged into.
  const onPort = (device: keyof typeof HOTPLUG_PORTS) => (m.snapshot?.devicesOnPorts ? `,id=${HOTPLUG_IDS[device]},bus=${HOTPLUG_PORTS[device]}` : '');
  const argv: string[] = [
    '-name', `${esc(m.name)},debug-threads=on`,
    '-machine', 'q35',
    '-accel', m.accel === 'tcg' ? `tcg,tb-size=${TCG_TB_SIZE_MIB}` : 'kvm',
    // -cpu host needs KVM; under TCG `max` enables every feature TCG can emulate.
    '-cpu', m.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(m.vcpus),
    // One memory-device slot, and room above the RAM for the rootfs's pmem region.
    '-m', `${m.memoryMiB}M,slots=1,maxmem=${m.memoryMiB + Math.ceil(m.rootfsImage.bytes / MIB)}M`,
  ];
  // A shareable backend must be bound to a NUMA node to become the guest's RAM.
  if (m.memory.kind === 'memfd') {
    argv.push('-object', `memory-backend-memfd,id=mem,size=${m.memoryMiB}M,share=on`, '-numa', 'node,memdev=mem');
  } else if (m.memory.kind === 'file') {
    argv.push('-object', `memory-backend-file,id=mem,size=${m.memoryMiB}M,share=on,mem-path=${esc(m.memory.path)}`, '-numa', 'node,memdev=mem');
  }
  argv.push(
    '-nodefaults', '-no-user-config', '-nographic', '-display', 'none', '-vga', 'none',
    '-no-reboot',
    '-kernel', m.kernel,
    '-initrd', m.initrd,
    '-append', m.kernelParams.join(' '),
    // The console is QEMU's stdout, which the spawner opened on the console log (O_APPEND, QEMU's
    // stderr too): QEMU needs no path to it, jailed or not. signal=off: ^C is the guest's.
    '-chardev', 'stdio,id=console,signal=off',
    '-serial', 'chardev:console',
    // share=on: the guest reads the host's page cache of the file; shared RAM is also what a
    // boot snapshot leaves out (x-ignore-shared). readonly=on: QEMU opens it read-only and the
    // guest's writes to it are dropped.
    '-object', `memory-backend-file,id=rootfs,mem-path=${esc(m.rootfsImage.path)},size=${m.rootfsImage.bytes},share=on,readonly=on`,
    '-device', 'virtio-pmem-pci,memdev=rootfs,id=rootfs-pmem',
    '-device', 'virtio-serial-pci,id=vser0',
    '-chardev', `socket,id=agent,path=${esc(m.agent.socketPath)},server=on,wait=off`,
    '-device', `virtserialport,bus=vser0.0,chardev=agent,name=${m.agent.portName}`,
  );
  // Before the devices a woken VM has in them: QEMU needs a bus before what sits on it.
  if (m.snapshot) {
    argv.push(
      '-device', `pcie-root-port,id=${HOTPLUG_PORTS.share},bus=pcie.0,chassis=1`,
      '-device', `pcie-root-port,id=${HOTPLUG_PORTS.nic},bus=pcie.0,chassis=2`,
    );
  }
  // auto: a fresh GUID per QEMU process, so a guest restored from a boot snapshot, woken or
  // forked reads a new generation and its kernel reseeds its RNG.
  argv.push('-device', 'vmgenid,guid=auto');
  switch (m.sharedFs?.kind) {
    case '9p':
      argv.push(
        '-fsdev', `local,id=fs0,path=${esc(m.sharedFs.hostPath)},security_model=none`,
        '-device', `virtio-9p-pci,fsdev=fs0,mount_tag=${m.sharedFs.mountTag}`,
      );
      break;
    case 'virtiofs':
      argv.push(
        '-chardev', `socket,id=vfs,path=${esc(m.sharedFs.socketPath)}`,
        '-device', `vhost-user-fs-pci,chardev=vfs,tag=${m.sharedFs.mountTag}`,
      );
      break;
    case 'block':
      // The guest's one virtio-blk device, so it sees it as /dev/vda; writable, the sandbox's own copy.
      argv.push(
        '-drive', `file=${esc(m.sharedFs.imagePath)},if=none,id=ctr-rootfs,format=raw`,
        '-device', `virtio-blk-pci,drive=ctr-rootfs${onPort('share')}`,
      );
      break;
    case undefined:
      // A boot-snapshot machine: the share is hot-plugged after the restore.
      break;
  }
  // -S: the guest stays paused until its state is loaded and its devices are plugged in (`cont`).
  if (m.incoming) argv.push('-S', '-incoming', 'defer');
  if (m.nic) {
    // vhost=off: no /dev/vhost-net is assumed. romfile= skips loading the PXE option ROM a
    // direct-kernel boot never uses.
    argv.push('-netdev', `tap,id=net0,fd=${m.nic.fd},vhost=off`, '-device', `virtio-net-pci,netdev=net0,mac=${m.nic.mac},romfile=${onPort('nic')}`);
  }
  if (m.vsock) argv.push('-device', `vhost-vsock-pci,id=vsock0,guest-cid=${m.vsock.guestCid}`);
  argv.push('-qmp', `unix:${esc(m.qmpSocket)},server=on,wait=off`);
  if (m.seccomp) argv.push('-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
  return argv;
}
