import { closeSync } from 'node:fs';
import { chown, writeFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import { readTail, removeTree, waitForPath } from '../../host/fs.helpers';
import type { Accel } from '../../host/host-info';
import { copySparse, waitForExit, type ProcessAdapter } from '../../host/process.adapter';
import type { VmIsolation } from '../../jail/isolation';
import { BWRAP } from '../../jail/jail-spec';
import { exitStatus, ProcessLauncher } from '../../jail/process-launcher';
import type { BootSnapshotFiles, Hypervisor, LiveMigration, RunningVm, SandboxDevices, SavedVmFiles, SnapshotVmConfig, VmConfig, VmPaths } from '../hypervisor';
import { buildQemuArgv, TCG_TB_SIZE_MIB, type HotplugDevices, type QemuMachine } from './qemu-cmdline';
import { jailQemu, jailSocketPath } from './qemu.jail';
import { devicesOf, FIRST_INHERITED_FD, guestMemoryPath, qemuMachineFor, snapshotMachineFor } from './qemu.machine';
import {
  HIBERNATE_TIMEOUT_MS,
  loadState,
  openSavedState,
  plugSandboxDevices,
  savedMemoryFile,
  savedStateOf,
  saveState,
  SNAPSHOT_STATE_TIMEOUT_MS,
  stateFileSink,
  waitForAgentServing,
  type SavedState,
} from './qemu.snapshot';
import { createGuestMemory, fillGuestMemory, removeGuestMemory, saveGuestMemory } from './qemu.guest-memory';
import { incomingState, migrateLive, streamVmOut } from './qemu.migration';
import { QmpClient } from './qmp.client';

export const QEMU_BINARY = '/usr/bin/qemu-system-x86_64';

const SOCKET_WAIT_MS = 10_000;
const QMP_TIMEOUT_MS = 3_000;
/** For the monitor of a VM whose state is saved or loaded: a host starved by many TCG guests can hold QEMU off for seconds. */
const STATE_QMP_TIMEOUT_MS = 15_000;
const QUIT_WAIT_MS = 5_000;
const KILL_WAIT_MS = 3_000;
/** The name the NIC's descriptor is given in a running QEMU (`getfd`) before it is plugged in. */
const NIC_FD_NAME = 'nic0';
const DEAD_GUEST_STATUSES = new Set(['internal-error', 'guest-panicked', 'shutdown', 'io-error']);
/** A snapshot VM boots like any other: TCG boots are slow. */
const SNAPSHOT_BOOT_TIMEOUT_MS = 120_000;
/** After the agent says it serves, let it settle into waiting for a host before pausing it. */
const SNAPSHOT_SETTLE_MS = 500;
/**
 * What QEMU takes beyond the guest's RAM (its heap, device emulation, I/O threads) plus the
 * virtiofsd that shares its cgroup; under TCG the bounded translated-code cache comes on top.
 * Measured peaks are in docs/containment.md.
 */
const QEMU_OVERHEAD_MIB = 160;

export class QemuHypervisor implements Hypervisor {
  readonly kind = 'qemu' as const;
  private readonly launcher: ProcessLauncher;

  constructor(
    private readonly proc: ProcessAdapter,
    private readonly binary = QEMU_BINARY,
  ) {
    this.launcher = new ProcessLauncher(proc);
  }

  exitReason(paths: VmPaths): Promise<string | undefined> {
    return paths.statusFile === undefined ? Promise.resolve(undefined) : exitStatus(paths.statusFile);
  }

  memoryOverheadMiB(accel: Accel): number {
    return QEMU_OVERHEAD_MIB + (accel === 'tcg' ? TCG_TB_SIZE_MIB : 0);
  }

  async start(config: VmConfig): Promise<number> {
    const { paths, sandboxId } = config;
    const snapshot = config.restoreFrom;
    const saved = savedStateOf(config);
    // A status left by a VMM that ran before (a restore that fell back to a cold boot) is not this one's.
    await Promise.all([removeTree(paths.agentSocket), removeTree(paths.qmpSocket), ...(paths.statusFile === undefined ? [] : [removeTree(paths.statusFile)])]);
    const savedMemory = saved && savedMemoryFile(saved.from);
    // A failed copy leaves what it copied from intact (most likely tmpfs is full).
    if (saved && savedMemory !== undefined) await fillGuestMemory(this.proc, savedMemory, paths, saved.failureCode, { sandboxId, ...(snapshot && { snapshotIntact: true }) });
    // A woken VM's RAM file must exist to be bound into its jail; QEMU sizes it, the state fills it.
    else if (config.wakeFrom?.restoredLayout) await createGuestMemory(paths);
    // Inherited as fd 3, 4, …: the NIC (NIC_FD) first, then the saved state.
    const fds: number[] = [];
    let pid: number;
    let machine: QemuMachine;
    try {
      if (config.network) fds.push(config.network.fd);
      if (saved && 'state' in saved.from) fds.push(openSavedState(saved.from.state, saved.failureCode, sandboxId));
      ({ pid, machine } = await this.launch(qemuMachineFor(config), config, fds));
    } catch (error) {
      await removeGuestMemory(paths);
      throw error instanceof RuntimeError ? error : new RuntimeError(RuntimeErrorCode.VMM_START_FAILED, `start qemu: ${describeError(error)}`, { cause: error });
    } finally {
      // The NIC's descriptor is the caller's; the saved state's is ours to close.
      if (saved && 'state' in saved.from) closeSync(fds[fds.length - 1]);
    }
    // QEMU creates its server sockets during init, before running the guest; their existence
    // means it accepted the command line and devices, so argv errors surface here.
    const ready = await waitForPath(paths.qmpSocket, SOCKET_WAIT_MS, () => this.proc.isAlive(pid));
    if (!ready) {
      await this.stop(pid, sandboxId, paths);
      const tail = (await readTail(paths.consoleLog, 4096)).trim();
      throw new RuntimeError(saved?.failureCode ?? RuntimeErrorCode.VMM_START_FAILED, `qemu did not start: ${tail || 'no output'}`, {
        context: { sandboxId },
      });
    }
    if (saved) await this.resumeSaved(pid, config, FIRST_INHERITED_FD + fds.length - 1, saved, machine.hotplug ?? {});
    return pid;
  }

  /**
   * Starts QEMU for `machine` (host paths), jailed when the VM has a jail, in its cgroup, and
   * records the pid the host sees in `paths.pidFile`. Returns the machine as QEMU sees it.
   */
  private async launch(machine: QemuMachine, config: { paths: VmPaths; isolation?: VmIsolation }, fds: number[]): Promise<{ pid: number; machine: QemuMachine }> {
    const { paths, isolation } = config;
    const jail = isolation?.jail;
    const jailed = jail && jailQemu({ machine, socketDir: paths.socketDir, uid: jail.uid, gid: jail.gid, devices: devicesOf(machine) });
    if (jail) {
      // What the jailed VMM writes (its RAM file, a block disk) must be its own.
      const disk = [machine.sharedFs, machine.hotplug?.share].find((share) => share?.kind === 'block');
      const files = [machine.memory.kind === 'file' ? machine.memory.path : undefined, disk?.kind === 'block' ? disk.imagePath : undefined];
      for (const file of files) if (file !== undefined) await chown(file, jail.uid, jail.gid);
    }
    const pid = await this.launcher.launch({
      command: this.binary,
      args: buildQemuArgv(jailed ? jailed.machine : machine),
      logFile: paths.consoleLog,
      extraFds: fds,
      ...(jailed && { jail: jailed.spec }),
      ...(isolation?.cgroup && { cgroup: isolation.cgroup }),
      ...(paths.statusFile !== undefined && { statusFile: paths.statusFile }),
    });
    await writeFile(paths.pidFile, `${pid}\n`, { mode: 0o600 });
    return { pid, machine: jailed ? jailed.machine : machine };
  }

  /**
   * Loads the saved state into the paused VM — from the inherited descriptor `stateFd` of its
   * file, or a live migration's stream through a socket QEMU listens on — plugs the sandbox's
   * devices in (a restore) and lets the guest run.
   */
  private async resumeSaved(pid: number, config: VmConfig, stateFd: number, saved: SavedState, hotplug: HotplugDevices): Promise<void> {
    const { paths, sandboxId } = config;
    const isAlive = () => this.proc.isAlive(pid);
    const incoming = incomingState(saved.from, stateFd, paths, config.isolation?.jail !== undefined);
    let qmp: QmpClient | undefined;
    try {
      qmp = await QmpClient.connect(paths.qmpSocket, STATE_QMP_TIMEOUT_MS);
      await loadState(qmp, incoming.uri, savedMemoryFile(saved.from) === undefined ? 'stream' : 'shared-file', saved.timeoutMs, isAlive, incoming.begun);
      await plugSandboxDevices(qmp, hotplug);
      await qmp.execute('cont', undefined, STATE_QMP_TIMEOUT_MS);
    } catch (cause) {
      // How QEMU ended, if it did on its own: read before stop, which ends it either way.
      const ended = (await isAlive()) ? undefined : await this.exitReason(paths);
      await this.stop(pid, sandboxId, paths);
      const tail = (await readTail(paths.consoleLog, 2048)).trim();
      throw new RuntimeError(saved.failureCode, `${saved.what}: ${describeError(cause)}${ended ? ` (QEMU ${ended})` : ''}${tail ? `\n${tail}` : ''}`, {
        cause,
        context: { sandboxId },
      });
    } finally {
      qmp?.close();
    }
  }

  hibernate(vm: RunningVm, saved: SavedVmFiles): Promise<void> {
    return this.saveVm(vm, saved);
  }

  capture(vm: RunningVm, saved: SavedVmFiles, disk: { from: string; to: string }): Promise<void> {
    return this.saveVm(vm, saved, { whilePaused: () => copySparse(this.proc, disk.from, disk.to), runOn: true });
  }

  async migrateOut(vm: RunningVm, sink: Writable, ran: () => Promise<void>): Promise<LiveMigration> {
    try {
      return await streamVmOut(vm, sink, {
        migrate: (qmp, uri) => migrateLive(qmp, uri, () => this.proc.isAlive(vm.pid)),
        // Not run by the target: the guest runs on here (`cont` takes back one paused at the end).
        settle: async (qmp, sent) => {
          if (sent && (await ran().then(() => true, () => false))) return;
          await qmp.execute('migrate_cancel', undefined, STATE_QMP_TIMEOUT_MS).catch(() => undefined);
          await qmp.execute('cont', undefined, STATE_QMP_TIMEOUT_MS).catch(() => undefined);
          if (sent) throw new RuntimeError(RuntimeErrorCode.MIGRATION_FAILED, 'the target did not run the migrated VM (or its answer was lost); it runs on here');
        },
      });
    } catch (cause) {
      throw cause instanceof RuntimeError ? cause : new RuntimeError(RuntimeErrorCode.MIGRATION_FAILED, `migrate VM ${vm.vmId}: ${describeError(cause)}`, { cause, context: { vmId: vm.vmId } });
    }
  }

  /**
   * Saves the running VM into `saved` — its RAM into `saved.memory` when given, copied from its
   * RAM file while it is paused, else into the stream — paused for `then.whilePaused` (a
   * matching disk copy); runs on if `then.runOn` or the save fails.
   */
  private async saveVm(vm: RunningVm, saved: SavedVmFiles, then: { whilePaused?: () => Promise<void>; runOn?: boolean } = {}): Promise<void> {
    const memory = saved.memory;
    try {
      await streamVmOut(vm, stateFileSink(saved.state), {
        migrate: async (qmp, uri) => {
          await saveState(qmp, uri, memory === undefined ? 'stream' : 'shared-file', HIBERNATE_TIMEOUT_MS, () => this.proc.isAlive(vm.pid));
          return qmp;
        },
        // `cont` after a completed migration takes the disk back from the (absent) destination.
        settle: async (qmp, sent, sinkFailure) => {
          const cont = () => qmp.execute('cont', undefined, STATE_QMP_TIMEOUT_MS).catch(() => undefined);
          const complete = sent && sinkFailure === undefined;
          if (complete) {
            try {
              if (memory !== undefined) await saveGuestMemory(this.proc, vm.paths, memory);
              await then.whilePaused?.();
            } catch (error) {
              await cont();
              throw error;
            }
          }
          if (!complete || then.runOn) await cont();
          if (sinkFailure !== undefined) throw sinkFailure;
        },
      });
    } catch (cause) {
      // What was written of it is worthless.
      await Promise.all([removeTree(saved.state), ...(memory === undefined ? [] : [removeTree(memory)])]);
      throw new RuntimeError(RuntimeErrorCode.HIBERNATE_FAILED, `save VM ${vm.vmId}: ${describeError(cause)}`, { cause, context: { vmId: vm.vmId } });
    }
  }

  async saveBootSnapshot(config: SnapshotVmConfig, files: BootSnapshotFiles, signal: AbortSignal): Promise<void> {
    const { paths, vmId } = config;
    const memory = guestMemoryPath(paths);
    await Promise.all([removeTree(paths.agentSocket), removeTree(paths.qmpSocket), createGuestMemory(paths)]);
    let pid: number | undefined;
    const onAbort = () => pid !== undefined && this.proc.kill(pid, 'SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      ({ pid } = await this.launch(snapshotMachineFor(config), config, []));
      const launched = pid;
      const isAlive = () => this.proc.isAlive(launched);
      if (signal.aborted) onAbort();
      if (!(await waitForPath(paths.qmpSocket, SOCKET_WAIT_MS, isAlive))) {
        throw new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, `qemu did not start: ${(await readTail(paths.consoleLog, 4096)).trim() || 'no output'}`);
      }
      await waitForAgentServing(paths.consoleLog, SNAPSHOT_BOOT_TIMEOUT_MS, isAlive, signal);
      await sleep(SNAPSHOT_SETTLE_MS, undefined, { signal });
      await streamVmOut({ pid: launched, vmId, paths, ...(config.isolation && { isolation: config.isolation }) }, stateFileSink(files.state), {
        migrate: (qmp, uri) => saveState(qmp, uri, 'shared-file', SNAPSHOT_STATE_TIMEOUT_MS, isAlive),
        settle: (_qmp, _sent, sinkFailure) => (sinkFailure === undefined ? Promise.resolve() : Promise.reject(sinkFailure)),
      });
      await copySparse(this.proc, memory, files.memory);
    } catch (cause) {
      if (signal.aborted) throw new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, 'saving the boot snapshot was cancelled', { cause, context: { vmId } });
      throw cause instanceof RuntimeError ? cause : new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, `save boot snapshot: ${describeError(cause)}`, { cause, context: { vmId } });
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (pid !== undefined) await this.stop(pid, vmId, paths);
    }
  }

  async plug(vm: RunningVm, devices: SandboxDevices): Promise<void> {
    const { pid, vmId, paths } = vm;
    const share = devices.sharedFs;
    if (share.kind !== 'virtiofs') throw new RuntimeError(RuntimeErrorCode.VMM_START_FAILED, `a ${share.kind} share cannot be plugged into a running VM`);
    if (!(await this.isRunning(pid, vmId))) throw new RuntimeError(RuntimeErrorCode.VMM_START_FAILED, 'the VM exited before its devices were plugged in', { context: { vmId } });
    let qmp: QmpClient | undefined;
    try {
      qmp = await QmpClient.connectPassingFds(paths.qmpSocket, QMP_TIMEOUT_MS);
      const { network } = devices;
      // The NIC's descriptor reaches the running QEMU over the monitor, under a name.
      if (network) await qmp.executeWithDescriptor('getfd', { fdname: NIC_FD_NAME }, network.fd, QMP_TIMEOUT_MS);
      await plugSandboxDevices(qmp, {
        share: vm.isolation?.jail ? { ...share, socketPath: jailSocketPath(share.socketPath, paths.socketDir) } : share,
        ...(network && { nic: { fd: NIC_FD_NAME, mac: network.mac } }),
      });
    } catch (cause) {
      throw new RuntimeError(RuntimeErrorCode.VMM_START_FAILED, `plug the sandbox's devices into VM ${vmId}: ${describeError(cause)}`, { cause, context: { vmId } });
    } finally {
      qmp?.close();
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
    await removeVmFiles(paths);
  }

  async reap(sandboxId: string, paths: VmPaths): Promise<void> {
    // QEMU's argv names the sandbox (-name moat-<id>), its jail's monitor binds the socket dir
    // (virtiofsd's argv names the socket dir too, and is the shared fs's to stop).
    const name = `moat-${sandboxId}`;
    const pids = await this.proc.find(
      (argv) => argv.some((arg) => arg.startsWith(name)) || (argv[0] === BWRAP && argv.includes(paths.socketDir)),
    );
    for (const pid of pids) this.proc.kill(pid, 'SIGKILL');
    for (const pid of pids) await waitForExit(this.proc, pid, KILL_WAIT_MS);
    await removeVmFiles(paths);
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

/** The host files of a VM that is gone: its sockets, pid and status files, and RAM file. */
async function removeVmFiles(paths: VmPaths): Promise<void> {
  const files = [paths.agentSocket, paths.qmpSocket, paths.pidFile, ...(paths.statusFile === undefined ? [] : [paths.statusFile])];
  await Promise.all([...files.map(removeTree), removeGuestMemory(paths)]);
}
