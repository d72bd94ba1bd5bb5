import { guestCidFor } from '../../agent/transport/vsock.dialer';
import { describeError, RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import { rootfsImageOf, type BootSnapshotFiles, type HibernatedVm, type Hypervisor, type RunningVm } from '../../hypervisor/hypervisor';
import type { Log } from '../../log/log.types';
import { RESTORED_TRANSPORT, type BootSnapshots, type VmShape } from '../../snapshot/boot-snapshots';
import { guestMemoryMiB } from '../model/sandbox-spec';
import { savedVmOf, vmIdOf, type SandboxState } from '../model/sandbox.state';
import type { GuestImage } from '../model/sandbox.types';
import type { IsolationPort } from './jail.step';
import type { StartStep, StepContext } from './start-step';

/** What the VMM steps need from the runtime. */
export interface VmmDeps {
  hypervisor: Hypervisor;
  isolation: Pick<IsolationPort, 'vmm'>;
  guestImage: GuestImage;
  /** Absent when boot snapshots are off or the transport cannot use them. */
  snapshots?: Pick<BootSnapshots, 'find' | 'discard'>;
  log: Log;
}

/** What a boot snapshot of this sandbox's VM fixes; its clones differ only in what is plugged in after. */
export function vmShape(state: SandboxState, image: GuestImage): VmShape {
  return {
    accel: state.accel,
    vcpus: state.spec.vcpus,
    memoryMiB: guestMemoryMiB(state.spec),
    kernel: image.kernel,
    initrd: image.initrd,
    rootfsImage: rootfsImageOf(image),
    ninep: state.sharedFsKind === '9p',
  };
}

/** The sandbox's running VM as the hypervisor addresses it: its VMM's pid, its VM id and paths, its jail when it has one. */
export function runningVmOf(state: SandboxState, pid: number, isolation: Pick<IsolationPort, 'vmm'>): RunningVm {
  return { pid, vmId: vmIdOf(state), paths: state.paths, ...(state.isolation && { isolation: isolation.vmm(state.isolation) }) };
}

/** What a VM starts from instead of booting: its shape's boot snapshot, or its own hibernated state. */
type StartFrom = { restoreFrom: BootSnapshotFiles } | { wakeFrom: HibernatedVm };

async function startVm(deps: VmmDeps, ctx: StepContext, from?: StartFrom): Promise<void> {
  const restoreFrom = from && 'restoreFrom' in from ? from.restoreFrom : undefined;
  const { state } = ctx.entry;
  const { spec, paths } = state;
  const vmId = vmIdOf(state);
  // One VMM per sandbox, ever: whatever an earlier start left running goes first.
  await deps.hypervisor.reap(vmId, paths);
  const shared = state.sharedFs;
  // Only a warm-pool VM starts without its share, restored, to have it plugged in later.
  if (!shared && !(state.pooled && restoreFrom)) throw new RuntimeError(RuntimeErrorCode.VMM_START_FAILED, 'the shared filesystem is not started');
  const image = deps.guestImage;
  state.vmmPid = await deps.hypervisor.start({
    sandboxId: vmId,
    accel: state.accel,
    vcpus: spec.vcpus,
    memoryMiB: guestMemoryMiB(spec),
    kernel: image.kernel,
    initrd: image.initrd,
    rootfsImage: rootfsImageOf(image),
    ...(shared && { sharedFs: shared.attachment }),
    ...(state.network?.nic && ctx.entry.nicFd !== undefined && { network: { fd: ctx.entry.nicFd, mac: state.network.nic.mac } }),
    paths,
    ...(state.isolation && { isolation: deps.isolation.vmm(state.isolation) }),
    ...(state.transport === 'vsock' && !restoreFrom && { vsockGuestCid: guestCidFor(vmId) }),
    ...from,
  });
  if (from && 'wakeFrom' in from) {
    // It runs on as it was saved: restored or booted, over the transport it had.
    await ctx.save();
    return;
  }
  state.restored = restoreFrom !== undefined;
  if (state.restored) state.transport = RESTORED_TRANSPORT;
  await ctx.save();
}

/**
 * Restores the VM from its shape's boot snapshot (Kata's VM templating). When that fails the
 * VMM step after it boots cold: a snapshot that does not load (QEMU upgraded, file damaged) is
 * discarded first, so a new one is saved, while one that could not be copied (tmpfs full) is kept.
 * The VMM step stops the VM, whichever step started it.
 */
export class RestoreStep implements StartStep {
  readonly phase = 'restore' as const;
  readonly failureCode = RuntimeErrorCode.VMM_START_FAILED;

  constructor(private readonly deps: VmmDeps) {}

  async applies(ctx: StepContext): Promise<boolean> {
    const { snapshots, guestImage } = this.deps;
    // A warm-pool VM runs already.
    if (ctx.entry.state.vmmPid !== undefined) return false;
    ctx.entry.snapshot = snapshots && (await snapshots.find(vmShape(ctx.entry.state, guestImage)));
    return ctx.entry.snapshot !== undefined;
  }

  async acquire(ctx: StepContext): Promise<void> {
    const snapshot = ctx.entry.snapshot;
    if (!snapshot) return;
    try {
      await startVm(this.deps, ctx, { restoreFrom: snapshot });
    } catch (error) {
      if (!(error instanceof RuntimeError && error.code === RuntimeErrorCode.SNAPSHOT_FAILED)) throw error;
      this.deps.log('warn', 'restoring a boot snapshot failed; booting cold', { sandboxId: ctx.entry.state.spec.id, error: describeError(error) });
      if (error.context.snapshotIntact !== true) await this.deps.snapshots?.discard(snapshot);
    }
  }
}

/**
 * Wakes a hibernated sandbox's VM from the state it was saved in (see sandbox/hibernation),
 * starts a clone's from its fork's capture (see sandbox/forks), or a migrating sandbox's from
 * the live stream its source sends (see sandbox/moves): the VMM step stops it, as it stops any VM.
 */
export class WakeStep implements StartStep {
  readonly phase = 'wake' as const;
  readonly failureCode = RuntimeErrorCode.HIBERNATE_FAILED;

  constructor(private readonly deps: VmmDeps) {}

  acquire(ctx: StepContext): Promise<void> {
    const { incoming, state } = ctx.entry;
    const restoredLayout = state.restored === true;
    if (incoming) return startVm(this.deps, ctx, { wakeFrom: { state: { live: incoming }, restoredLayout } });
    const saved = state.hibernation ?? state.fork;
    if (saved === undefined) throw new RuntimeError(RuntimeErrorCode.HIBERNATE_FAILED, 'the sandbox holds no saved VM to wake');
    return startVm(this.deps, ctx, { wakeFrom: { state: savedVmOf(saved), restoredLayout } });
  }
}

/** Boots the VM cold, unless the restore step already started it. */
export class VmmStep implements StartStep {
  readonly phase = 'vmm' as const;
  readonly failureCode = RuntimeErrorCode.VMM_START_FAILED;

  constructor(private readonly deps: VmmDeps) {}

  applies(ctx: StepContext): boolean {
    return ctx.entry.state.vmmPid === undefined;
  }

  acquire(ctx: StepContext): Promise<void> {
    return startVm(this.deps, ctx);
  }

  async release(ctx: StepContext): Promise<void> {
    const { state } = ctx.entry;
    const pid = state.vmmPid;
    if (pid !== undefined) await this.deps.hypervisor.stop(pid, vmIdOf(state), state.paths);
    // A VMM whose pid never reached the state file (the node agent died while it started).
    await this.deps.hypervisor.reap(vmIdOf(state), state.paths);
    state.vmmPid = undefined;
  }
}

/**
 * Plugs the sandbox's share and NIC into a warm-pool VM it was handed: that VM was restored with
 * nothing of any sandbox in it. Nothing to release: the devices go with the VMM.
 */
export class PlugStep implements StartStep {
  readonly phase = 'plug' as const;
  readonly failureCode = RuntimeErrorCode.VMM_START_FAILED;

  constructor(
    private readonly hypervisor: Pick<Hypervisor, 'plug'>,
    private readonly isolation: Pick<IsolationPort, 'vmm'>,
  ) {}

  applies(ctx: StepContext): boolean {
    return ctx.entry.state.vmId !== undefined;
  }

  async acquire(ctx: StepContext): Promise<void> {
    const { state, nicFd } = ctx.entry;
    const { vmmPid, sharedFs, network } = state;
    if (vmmPid === undefined || !sharedFs) throw new RuntimeError(RuntimeErrorCode.VMM_START_FAILED, 'no VM or no shared filesystem to plug in');
    await this.hypervisor.plug(
      runningVmOf(state, vmmPid, this.isolation),
      { sharedFs: sharedFs.attachment, ...(network?.nic && nicFd !== undefined && { network: { fd: nicFd, mac: network.nic.mac } }) },
    );
  }
}
