import { AGENT_JITLESS_PARAM, AGENT_PORT_NAME } from '@moat/proto';
import type { Accel } from '../../host/host-info';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import { SHARED_FS_MOUNT_TAG } from '../../sharefs/shared-fs';
import type { SnapshotVmConfig, VmConfig, VmPaths } from '../hypervisor';
import type { QemuMachine } from './qemu-cmdline';

/**
 * Kernel parameters. `quiet` matters under TCG: every byte on the emulated 16550 costs an
 * exit. `panic=-1` with `-no-reboot` turns a guest panic into a QEMU exit that we notice at
 * once instead of a hung boot. The i8042/cryptomgr switches skip probing hardware a microVM
 * does not have (Kata's defaults). Under TCG the agent runs without V8's JIT (see AGENT_JITLESS_PARAM).
 */
export function guestKernelParams(sandboxId: string, accel: Accel): string[] {
  return [
    'console=ttyS0',
    'root=/dev/pmem0',
    'rootfstype=ext4',
    // Read the rootfs in place from the pmem region, not through a page cache in guest RAM.
    'rootflags=dax',
    'ro',
    'quiet',
    'panic=-1',
    'reboot=k',
    'i8042.noaux=1',
    'i8042.nopnp=1',
    'i8042.nokbd=1',
    'cryptomgr.notests',
    'tsc=reliable',
    'no_timer_check',
    `moat.sandbox=${sandboxId}`,
    ...(accel === 'tcg' ? [AGENT_JITLESS_PARAM] : []),
  ];
}

/** The first descriptor a child inherits after stdio. */
export const FIRST_INHERITED_FD = 3;
/** The fd the NIC's TAP or macvtap is handed to QEMU as: the first after stdio. */
export const NIC_FD = FIRST_INHERITED_FD;

/** What every machine of this driver has: its name, size, guest image and sockets. */
function baseMachine(vmId: string, config: SnapshotVmConfig | VmConfig): Omit<QemuMachine, 'memory'> {
  return {
    name: `moat-${vmId}`,
    accel: config.accel,
    vcpus: config.vcpus,
    memoryMiB: config.memoryMiB,
    kernel: config.kernel,
    initrd: config.initrd,
    kernelParams: guestKernelParams(vmId, config.accel),
    rootfsImage: config.rootfsImage,
    qmpSocket: config.paths.qmpSocket,
    agent: { socketPath: config.paths.agentSocket, portName: AGENT_PORT_NAME },
    seccomp: false,
  };
}

/** The machine of a sandbox VM, with host paths (see `jailQemu` for the jailed view). */
export function qemuMachineFor(config: VmConfig): QemuMachine {
  if (config.wakeFrom) return wokenMachineFor(config, config.wakeFrom.restoredLayout);
  const restoring = config.restoreFrom !== undefined;
  const share = config.sharedFs;
  if (!share && !restoring) throw new RuntimeError(RuntimeErrorCode.VMM_START_FAILED, 'a VM that boots needs its shared filesystem');
  return {
    ...baseMachine(config.sandboxId, config),
    memory: restoring ? { kind: 'file', path: guestMemoryPath(config.paths) } : share?.kind === 'virtiofs' ? { kind: 'memfd' } : { kind: 'anonymous' },
    // A restored VM has 9p from its snapshot; virtio-fs, block and the NIC are hot-plugged.
    ...((!restoring || share?.kind === '9p') && { sharedFs: share }),
    ...(restoring && {
      snapshot: {},
      incoming: true,
      hotplug: {
        ...(share && share.kind !== '9p' && { share }),
        ...(config.network && { nic: { fd: NIC_FD, mac: config.network.mac } }),
      },
    }),
    ...(!restoring && config.network && { nic: { fd: NIC_FD, mac: config.network.mac } }),
    ...(config.vsockGuestCid !== undefined && { vsock: { guestCid: config.vsockGuestCid } }),
  };
}

/**
 * The machine a hibernated VM wakes into: the devices it was saved with, where it had them (a
 * restored VM's in the snapshot machine's root ports), its RAM of the same kind, waiting for its state.
 */
function wokenMachineFor(config: VmConfig, restoredLayout: boolean): QemuMachine {
  const share = config.sharedFs;
  if (share?.kind !== 'block') throw new RuntimeError(RuntimeErrorCode.HIBERNATE_UNSUPPORTED, `a VM with a ${share?.kind ?? 'missing'} share cannot be woken: only a block rootfs can be saved`);
  return {
    ...baseMachine(config.sandboxId, config),
    memory: restoredLayout ? { kind: 'file', path: guestMemoryPath(config.paths) } : { kind: 'anonymous' },
    sharedFs: share,
    ...(config.network && { nic: { fd: NIC_FD, mac: config.network.mac } }),
    ...(restoredLayout && { snapshot: { devicesOnPorts: true } }),
    incoming: true,
  };
}

/** The machine a boot snapshot saves; restoring it (qemuMachineFor with `restoreFrom`) gives the same devices. */
export function snapshotMachineFor(config: SnapshotVmConfig): QemuMachine {
  return {
    ...baseMachine(config.vmId, config),
    memory: { kind: 'file', path: guestMemoryPath(config.paths) },
    ...(config.ninepDir !== undefined && { sharedFs: { kind: '9p', hostPath: config.ninepDir, mountTag: SHARED_FS_MOUNT_TAG } }),
    snapshot: {},
  };
}

export function guestMemoryPath(paths: VmPaths): string {
  if (paths.guestMemory === undefined) throw new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, 'this VM has no guest memory path (state from an older runtime)');
  return paths.guestMemory;
}

/** The device nodes a machine opens beyond null, zero and urandom. */
export function devicesOf(machine: QemuMachine): string[] {
  return [...(machine.accel === 'kvm' ? ['/dev/kvm'] : []), ...(machine.vsock ? ['/dev/vhost-vsock'] : [])];
}
