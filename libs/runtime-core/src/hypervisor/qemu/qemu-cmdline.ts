import type { Accel } from '../hypervisor';

/** A typed description of one QEMU microVM-style machine; `buildQemuArgv` is its only reader. */
export interface QemuMachine {
  name: string;
  accel: Accel;
  vcpus: number;
  memoryMiB: number;
  kernel: string;
  initrd: string;
  kernelParams: readonly string[];
  /** Raw, read-only; must stay the first virtio-blk device because the guest mounts /dev/vda. */
  rootfsImage: string;
  consoleLog: string;
  qmpSocket: string;
  pidFile: string;
  agent: { socketPath: string; portName: string };
  sharedFs:
    | { kind: '9p'; hostPath: string; mountTag: string }
    | { kind: 'virtiofs'; socketPath: string; mountTag: string }
    | { kind: 'block'; imagePath: string };
}

/** QEMU splits option values on commas; a literal comma is written twice. */
function esc(value: string): string {
  return value.replaceAll(',', ',,');
}

export function buildQemuArgv(m: QemuMachine): string[] {
  const argv: string[] = [
    '-name', `${esc(m.name)},debug-threads=on`,
    '-machine', `q35,accel=${m.accel}`,
    // -cpu host needs KVM; under TCG `max` enables every feature TCG can emulate.
    '-cpu', m.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(m.vcpus),
    '-m', `${m.memoryMiB}M`,
  ];
  if (m.sharedFs.kind === 'virtiofs') {
    // vhost-user-fs maps guest RAM in virtiofsd, so it must be a shareable memfd bound to a NUMA node.
    argv.push('-object', `memory-backend-memfd,id=mem,size=${m.memoryMiB}M,share=on`, '-numa', 'node,memdev=mem');
  }
  argv.push(
    '-nodefaults', '-no-user-config', '-nographic', '-display', 'none', '-vga', 'none',
    '-no-reboot',
    '-kernel', m.kernel,
    '-initrd', m.initrd,
    '-append', m.kernelParams.join(' '),
    // append=on: QEMU's own stderr goes to the same file, opened O_APPEND by the spawner.
    '-chardev', `file,id=console,path=${esc(m.consoleLog)},append=on`,
    '-serial', 'chardev:console',
    '-drive', `file=${esc(m.rootfsImage)},if=none,id=rootfs,format=raw,readonly=on`,
    '-device', 'virtio-blk-pci,drive=rootfs',
    '-device', 'virtio-serial-pci,id=vser0',
    '-chardev', `socket,id=agent,path=${esc(m.agent.socketPath)},server=on,wait=off`,
    '-device', `virtserialport,bus=vser0.0,chardev=agent,name=${m.agent.portName}`,
  );
  switch (m.sharedFs.kind) {
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
      // Second virtio-blk device, so the guest sees it as /dev/vdb; writable, the sandbox's own copy.
      argv.push(
        '-drive', `file=${esc(m.sharedFs.imagePath)},if=none,id=ctr-rootfs,format=raw`,
        '-device', 'virtio-blk-pci,drive=ctr-rootfs',
      );
      break;
  }
  argv.push('-qmp', `unix:${esc(m.qmpSocket)},server=on,wait=off`, '-pidfile', m.pidFile);
  return argv;
}
