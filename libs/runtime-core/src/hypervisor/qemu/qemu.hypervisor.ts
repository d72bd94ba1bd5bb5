import { closeSync, openSync } from 'node:fs';
import { AGENT_PORT_NAME } from '@moat/proto';
import { RuntimeError, RuntimeErrorCode } from '../../errors';
import { readTail, removeTree, waitForPath } from '../../host/fs.helpers';
import { waitForExit, type ProcessAdapter } from '../../host/process.adapter';
import type { Hypervisor, VmConfig, VmPaths } from '../hypervisor';
import { buildQemuArgv, type QemuMachine } from './qemu-cmdline';
import { QmpClient } from './qmp.client';

export const QEMU_BINARY = 'qemu-system-x86_64';

const SOCKET_WAIT_MS = 10_000;
const QMP_TIMEOUT_MS = 3_000;
const QUIT_WAIT_MS = 5_000;
const KILL_WAIT_MS = 3_000;
const DEAD_GUEST_STATUSES = new Set(['internal-error', 'guest-panicked', 'shutdown', 'io-error']);

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

/** The fd a macvtap device is handed to QEMU as: the first after stdio. */
export const NIC_FD = 3;

export function qemuMachineFor(config: VmConfig): QemuMachine {
  return {
    name: `moat-${config.sandboxId}`,
    accel: config.accel,
    vcpus: config.vcpus,
    memoryMiB: config.memoryMiB,
    kernel: config.kernel,
    initrd: config.initrd,
    kernelParams: guestKernelParams(config.sandboxId),
    rootfsImage: config.rootfsImage,
    consoleLog: config.paths.consoleLog,
    qmpSocket: config.paths.qmpSocket,
    pidFile: config.paths.pidFile,
    agent: { socketPath: config.paths.agentSocket, portName: AGENT_PORT_NAME },
    sharedFs: config.sharedFs,
    ...(config.network && {
      nic: {
        tap: config.network.tap.kind === 'ifname' ? config.network.tap : { kind: 'fd', fd: NIC_FD },
        mac: config.network.mac,
      },
    }),
    ...(config.vsockGuestCid !== undefined && { vsock: { guestCid: config.vsockGuestCid } }),
  };
}

export class QemuHypervisor implements Hypervisor {
  readonly kind = 'qemu' as const;

  constructor(
    private readonly proc: ProcessAdapter,
    private readonly binary = QEMU_BINARY,
  ) {}

  async start(config: VmConfig): Promise<number> {
    const { paths, sandboxId } = config;
    await Promise.all([removeTree(paths.agentSocket), removeTree(paths.qmpSocket)]);
    const argv = buildQemuArgv(qemuMachineFor(config));
    const nic = config.network;
    // nsenter execs QEMU in the sandbox netns, so the pid and argv are QEMU's own.
    const [command, args] = nic?.netnsPath ? ['nsenter', [`--net=${nic.netnsPath}`, '--', this.binary, ...argv]] : [this.binary, argv];
    const tapFd = nic?.tap.kind === 'device' ? await openDevice(nic.tap.path) : undefined;
    let pid: number;
    try {
      pid = await this.proc.spawnDetached(command, args, { logFile: paths.consoleLog, ...(tapFd !== undefined && { extraFds: [tapFd] }) });
    } finally {
      if (tapFd !== undefined) closeSync(tapFd);
    }
    // QEMU creates its server sockets during init, before running the guest; their existence
    // means it accepted the command line and devices, so argv errors surface here.
    const ready = await waitForPath(paths.qmpSocket, SOCKET_WAIT_MS, () => this.proc.isAlive(pid));
    if (!ready) {
      await this.stop(pid, sandboxId, paths);
      const tail = (await readTail(paths.consoleLog, 4096)).trim();
      throw new RuntimeError(RuntimeErrorCode.VMM_START_FAILED, `qemu did not start: ${tail || 'no output'}`, { context: { sandboxId } });
    }
    return pid;
  }

  async stop(pid: number, sandboxId: string, paths: VmPaths): Promise<void> {
    if (await this.isRunning(pid, sandboxId)) {
      await this.quitViaQmp(paths.qmpSocket);
      if (!(await waitForExit(this.proc, pid, QUIT_WAIT_MS))) {
        this.proc.kill(pid, 'SIGKILL');
        await waitForExit(this.proc, pid, KILL_WAIT_MS);
      }
    }
    await Promise.all([removeTree(paths.agentSocket), removeTree(paths.qmpSocket), removeTree(paths.pidFile)]);
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

function openDevice(path: string): Promise<number> {
  try {
    return Promise.resolve(openSync(path, 'r+'));
  } catch (cause) {
    return Promise.reject(new RuntimeError(RuntimeErrorCode.VMM_START_FAILED, `open tap device ${path}`, { cause }));
  }
}
