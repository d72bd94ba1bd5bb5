import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AGENT_PORT_NAME } from '@moat/proto';
import { describeError, RuntimeError, RuntimeErrorCode } from '../../errors';
import { readTail, removeTree, waitForPath } from '../../host/fs.helpers';
import { waitForExit, type ProcessAdapter } from '../../host/process.adapter';
import { SHARED_FS_MOUNT_TAG } from '../../sharefs/shared-fs';
import type { BootSnapshotFiles, Hypervisor, SnapshotVmConfig, VmConfig, VmPaths } from '../hypervisor';
import { buildQemuArgv, type QemuMachine } from './qemu-cmdline';
import { copySparse, loadState, plugSandboxDevices, saveState, waitForAgentServing } from './qemu.snapshot';
import { QmpClient } from './qmp.client';

export const QEMU_BINARY = 'qemu-system-x86_64';

const SOCKET_WAIT_MS = 10_000;
const QMP_TIMEOUT_MS = 3_000;
const QUIT_WAIT_MS = 5_000;
const KILL_WAIT_MS = 3_000;
const DEAD_GUEST_STATUSES = new Set(['internal-error', 'guest-panicked', 'shutdown', 'io-error']);
/** Loading a snapshot's device state, or saving it: both move well under a megabyte. */
const SNAPSHOT_STATE_TIMEOUT_MS = 30_000;
/** A snapshot VM boots like any other: TCG boots are slow. */
const SNAPSHOT_BOOT_TIMEOUT_MS = 120_000;
/** After the agent says it serves, let it settle into waiting for a host before pausing it. */
const SNAPSHOT_SETTLE_MS = 500;

/**
 * Kernel parameters. `quiet` matters under TCG: every byte on the emulated 16550 costs an
 * exit. `panic=-1` with `-no-reboot` turns a guest panic into a QEMU exit that we notice at
 * once instead of a hung boot. The i8042/cryptomgr switches skip probing hardware a microVM
 * does not have (Kata's defaults).
 */
export function guestKernelParams(sandboxId: string): string[] {
  return [
    'console=ttyS0',
    'root=/dev/vda',
    'rootfstype=ext4',
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
  ];
}

/** The first descriptor a child inherits after stdio. */
const FIRST_INHERITED_FD = 3;
/** The fd a macvtap device is handed to QEMU as: the first after stdio. */
export const NIC_FD = FIRST_INHERITED_FD;

/** What every machine of this driver has: its name, size, guest image, console and sockets. */
function baseMachine(vmId: string, config: SnapshotVmConfig | VmConfig): Omit<QemuMachine, 'memory'> {
  return {
    name: `moat-${vmId}`,
    accel: config.accel,
    vcpus: config.vcpus,
    memoryMiB: config.memoryMiB,
    kernel: config.kernel,
    initrd: config.initrd,
    kernelParams: guestKernelParams(vmId),
    rootfsImage: config.rootfsImage,
    consoleLog: config.paths.consoleLog,
    qmpSocket: config.paths.qmpSocket,
    pidFile: config.paths.pidFile,
    agent: { socketPath: config.paths.agentSocket, portName: AGENT_PORT_NAME },
  };
}

export function qemuMachineFor(config: VmConfig): QemuMachine {
  const restoring = config.restoreFrom !== undefined;
  const share = config.sharedFs;
  return {
    ...baseMachine(config.sandboxId, config),
    memory: restoring ? { kind: 'file', path: guestMemoryPath(config.paths) } : share.kind === 'virtiofs' ? { kind: 'memfd' } : { kind: 'anonymous' },
    // A restored VM has 9p from its snapshot; virtio-fs, block and the NIC are hot-plugged.
    ...((!restoring || share.kind === '9p') && { sharedFs: share }),
    ...(restoring && { snapshot: { incoming: true } }),
    ...(!restoring && config.network && {
      nic: {
        tap: config.network.tap.kind === 'ifname' ? config.network.tap : { kind: 'fd', fd: NIC_FD },
        mac: config.network.mac,
      },
    }),
    ...(config.vsockGuestCid !== undefined && { vsock: { guestCid: config.vsockGuestCid } }),
  };
}

/** The machine a boot snapshot saves; restoring it (qemuMachineFor with `restoreFrom`) gives the same devices. */
export function snapshotMachineFor(config: SnapshotVmConfig): QemuMachine {
  return {
    ...baseMachine(config.vmId, config),
    memory: { kind: 'file', path: guestMemoryPath(config.paths) },
    ...(config.ninepDir !== undefined && { sharedFs: { kind: '9p', hostPath: config.ninepDir, mountTag: SHARED_FS_MOUNT_TAG } }),
    snapshot: { incoming: false },
  };
}

function guestMemoryPath(paths: VmPaths): string {
  if (paths.guestMemory === undefined) throw new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, 'this VM has no guest memory path (state from an older runtime)');
  return paths.guestMemory;
}

export class QemuHypervisor implements Hypervisor {
  readonly kind = 'qemu' as const;

  constructor(
    private readonly proc: ProcessAdapter,
    private readonly binary = QEMU_BINARY,
  ) {}

  async start(config: VmConfig): Promise<number> {
    const { paths, sandboxId } = config;
    const snapshot = config.restoreFrom;
    await Promise.all([removeTree(paths.agentSocket), removeTree(paths.qmpSocket)]);
    if (snapshot) await this.copyGuestMemory(snapshot, paths, sandboxId);
    const argv = buildQemuArgv(qemuMachineFor(config));
    const nic = config.network;
    // nsenter execs QEMU in the sandbox netns, so the pid and argv are QEMU's own.
    const [command, args] = nic?.netnsPath ? ['nsenter', [`--net=${nic.netnsPath}`, '--', this.binary, ...argv]] : [this.binary, argv];
    // Inherited as fd 3, 4, …: the macvtap device (NIC_FD) first, then the snapshot's state.
    const fds: number[] = [];
    let pid: number;
    try {
      if (nic?.tap.kind === 'device') fds.push(await openDevice(nic.tap.path));
      if (snapshot) fds.push(openSnapshotState(snapshot.state, sandboxId));
      pid = await this.proc.spawnDetached(command, args, { logFile: paths.consoleLog, ...(fds.length > 0 && { extraFds: fds }) });
    } catch (error) {
      await removeGuestMemory(paths);
      throw error;
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    // QEMU creates its server sockets during init, before running the guest; their existence
    // means it accepted the command line and devices, so argv errors surface here.
    const ready = await waitForPath(paths.qmpSocket, SOCKET_WAIT_MS, () => this.proc.isAlive(pid));
    if (!ready) {
      await this.stop(pid, sandboxId, paths);
      const tail = (await readTail(paths.consoleLog, 4096)).trim();
      throw new RuntimeError(snapshot ? RuntimeErrorCode.SNAPSHOT_FAILED : RuntimeErrorCode.VMM_START_FAILED, `qemu did not start: ${tail || 'no output'}`, {
        context: { sandboxId },
      });
    }
    if (snapshot) await this.resumeFromSnapshot(pid, config, fds.length - 1 + FIRST_INHERITED_FD);
    return pid;
  }

  /** Loads the state into the paused VM, plugs the sandbox's devices in and lets the guest run. */
  private async resumeFromSnapshot(pid: number, config: VmConfig, stateFd: number): Promise<void> {
    const { paths, sandboxId } = config;
    const isAlive = () => this.proc.isAlive(pid);
    let qmp: QmpClient | undefined;
    try {
      qmp = await QmpClient.connect(paths.qmpSocket, QMP_TIMEOUT_MS);
      await loadState(qmp, stateFd, SNAPSHOT_STATE_TIMEOUT_MS, isAlive);
      await plugSandboxDevices(qmp, config, NIC_FD);
      await qmp.execute('cont', undefined, QMP_TIMEOUT_MS);
    } catch (cause) {
      await this.stop(pid, sandboxId, paths);
      const tail = (await readTail(paths.consoleLog, 2048)).trim();
      throw new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, `restore from boot snapshot: ${describeError(cause)}${tail ? `\n${tail}` : ''}`, {
        cause,
        context: { sandboxId },
      });
    } finally {
      qmp?.close();
    }
  }

  private async copyGuestMemory(snapshot: BootSnapshotFiles, paths: VmPaths, sandboxId: string): Promise<void> {
    const memory = guestMemoryPath(paths);
    try {
      await mkdir(dirname(memory), { recursive: true, mode: 0o700 });
      await copySparse(this.proc, snapshot.memory, memory);
    } catch (cause) {
      await removeTree(memory);
      // Most likely a full tmpfs: the snapshot itself is fine.
      throw new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, `copy the snapshot's memory to ${memory}`, { cause, context: { sandboxId, snapshotIntact: true } });
    }
  }

  async saveBootSnapshot(config: SnapshotVmConfig, files: BootSnapshotFiles, signal: AbortSignal): Promise<void> {
    const { paths, vmId } = config;
    const memory = guestMemoryPath(paths);
    await Promise.all([removeTree(paths.agentSocket), removeTree(paths.qmpSocket), mkdir(dirname(memory), { recursive: true, mode: 0o700 })]);
    const pid = await this.proc.spawnDetached(this.binary, buildQemuArgv(snapshotMachineFor(config)), { logFile: paths.consoleLog });
    const isAlive = () => this.proc.isAlive(pid);
    const onAbort = () => this.proc.kill(pid, 'SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    let qmp: QmpClient | undefined;
    try {
      if (!(await waitForPath(paths.qmpSocket, SOCKET_WAIT_MS, isAlive))) {
        throw new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, `qemu did not start: ${(await readTail(paths.consoleLog, 4096)).trim() || 'no output'}`);
      }
      await waitForAgentServing(paths.consoleLog, SNAPSHOT_BOOT_TIMEOUT_MS, isAlive, signal);
      await sleep(SNAPSHOT_SETTLE_MS, undefined, { signal });
      qmp = await QmpClient.connect(paths.qmpSocket, QMP_TIMEOUT_MS);
      await saveState(qmp, files.state, SNAPSHOT_STATE_TIMEOUT_MS, isAlive);
      await copySparse(this.proc, memory, files.memory);
    } catch (cause) {
      if (signal.aborted) throw new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, 'saving the boot snapshot was cancelled', { cause, context: { vmId } });
      throw cause instanceof RuntimeError ? cause : new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, `save boot snapshot: ${describeError(cause)}`, { cause, context: { vmId } });
    } finally {
      signal.removeEventListener('abort', onAbort);
      qmp?.close();
      await this.stop(pid, vmId, paths);
    }
  }

  async stop(pid: number, sandboxId: string, paths: VmPaths): Promise<void> {
    if (await this.isRunning(pid, sandboxId)) {
      await this.quitViaQmp(paths.qmpSocket);
      if (!(await waitForExit(this.proc, pid, QUIT_WAIT_MS))) {
        this.proc.kill(pid, 'SIGKILL');
        await waitForExit(this.proc, pid, KILL_WAIT_MS);
      }
    }
    await Promise.all([removeTree(paths.agentSocket), removeTree(paths.qmpSocket), removeTree(paths.pidFile), removeGuestMemory(paths)]);
  }

  async isRunning(pid: number, sandboxId: string): Promise<boolean> {
    const argv = await this.proc.cmdline(pid);
    return argv !== undefined && argv.some((arg) => arg.includes(sandboxId)) && (await this.proc.isAlive(pid));
  }

  async guestFailure(pid: number, sandboxId: string, paths: VmPaths): Promise<string | undefined> {
    if (!(await this.isRunning(pid, sandboxId))) return 'the VM exited';
    let qmp: QmpClient | undefined;
    try {
      qmp = await QmpClient.connect(paths.qmpSocket, QMP_TIMEOUT_MS);
      const { status } = await qmp.queryStatus(QMP_TIMEOUT_MS);
      // QEMU keeps running but pauses the guest on these, so the pid alone looks healthy.
      return DEAD_GUEST_STATUSES.has(status) ? `the VM stopped with status ${status}` : undefined;
    } catch {
      // A QMP hiccup is not proof of a dead guest; the boot deadline still applies.
      return undefined;
    } finally {
      qmp?.close();
    }
  }

  /** Best effort: a wedged QEMU is SIGKILLed by the caller. */
  private async quitViaQmp(socketPath: string): Promise<void> {
    let qmp: QmpClient | undefined;
    try {
      qmp = await QmpClient.connect(socketPath, QMP_TIMEOUT_MS);
      await qmp.quit(QMP_TIMEOUT_MS);
    } catch {
      // Falls through to SIGKILL.
    } finally {
      qmp?.close();
    }
  }
}

async function removeGuestMemory(paths: VmPaths): Promise<void> {
  if (paths.guestMemory !== undefined) await removeTree(paths.guestMemory);
}

function openSnapshotState(path: string, sandboxId: string): number {
  try {
    return openSync(path, 'r');
  } catch (cause) {
    throw new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, `open snapshot state ${path}`, { cause, context: { sandboxId } });
  }
}

function openDevice(path: string): Promise<number> {
  try {
    return Promise.resolve(openSync(path, 'r+'));
  } catch (cause) {
    return Promise.reject(new RuntimeError(RuntimeErrorCode.VMM_START_FAILED, `open tap device ${path}`, { cause }));
  }
}
