import type { Readable, Writable } from 'node:stream';
import { describeError, RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { Hypervisor, LiveMigration } from '../hypervisor/hypervisor';
import type { Log } from '../log/log.types';
import { infoOf, type SandboxEntry } from './model/sandbox.entry';
import type { SandboxInfo } from './model/sandbox.types';
import type { SandboxAccess } from './sandbox.access';
import { vmNotSavable, type SandboxState } from './model/sandbox.state';
import { timePhase } from './model/timings';
import { arrivedState, parseMovedState, statOwnFile, type ArrivalVm } from './moves';
import type { SandboxLifecycle } from './sandbox.lifecycle';
import type { IsolationPort } from './steps/jail.step';
import { runningVmOf } from './steps/vmm.step';
import { acquireSteps, persistBeforeAcquiring, type StartStep } from './steps/start-step';
import { startError } from './sandbox.failures';

/** What a live migration's target needs before the stream: the sandbox as its source holds it, and its disk's size. */
export interface LiveDeparture {
  /** The source's `state.json`. */
  state: string;
  diskBytes: number;
}

/**
 * Live migration, the runtime's part (the node agents carry the stream between them): the
 * source sends its running VM — RAM, devices and writable disk, QEMU pre-copy — into a stream
 * and, once the target has it, lets go of everything the sandbox held here; the target plumbs
 * the network with the guest's own MAC and address, starts a VMM that takes the stream in, and
 * reconnects to the agent. The guest's processes never stop but for the final pause.
 */
export class SandboxLiveMigration {
  constructor(
    private readonly entries: Map<string, SandboxEntry>,
    private readonly access: Pick<SandboxAccess, 'known'>,
    private readonly hypervisor: Pick<Hypervisor, 'migrateOut'>,
    private readonly isolation: Pick<IsolationPort, 'vmm'>,
    private readonly lifecycle: Pick<SandboxLifecycle, 'context' | 'release' | 'startLogs'>,
    /** In start order: jail, the disk the stream fills, network, the VM taken in, agent. */
    private readonly arriveSteps: readonly StartStep[],
    private readonly fresh: () => ArrivalVm,
    private readonly log: Log,
  ) {}

  /** What the target must know first; SANDBOX_NOT_RUNNING or HIBERNATE_UNSUPPORTED when it cannot migrate. */
  async departure(id: string): Promise<LiveDeparture> {
    const entry = this.access.known(id);
    const { state } = entry;
    const disk = this.migratable(entry);
    return { state: JSON.stringify(state), diskBytes: (await statOwnFile(state.spec.id, disk)).size };
  }

  /**
   * Sends the running VM into `sink`, then waits for `ran` (the target's word that it runs it).
   * Once that resolves, the VM here is paused for good and everything the sandbox held here is
   * released. A migration that fails, or whose target does not say it runs it, leaves it running
   * here, the error saying why: a lost answer may leave it running in both places until the
   * target drops an arrival its control plane never placed, but never in neither.
   */
  async migrateOut(id: string, sink: Writable, ran: () => Promise<void>): Promise<LiveMigration> {
    const entry = this.access.known(id);
    const { state } = entry;
    this.migratable(entry);
    const pid = state.vmmPid!;
    entry.departing = true;
    let migration: LiveMigration;
    try {
      migration = await this.hypervisor.migrateOut(
        runningVmOf(state, pid, this.isolation),
        sink,
        ran,
      );
    } finally {
      entry.departing = undefined;
      entry.missedPings = 0;
    }
    this.log('info', 'sandbox migrated out', { sandboxId: id, ...migration });
    // It runs on the target now: nothing of it stays here, and its paused guest is not asked to clean up.
    await entry.logPump?.detach();
    entry.logPump = undefined;
    entry.agent?.close();
    entry.agent = undefined;
    entry.phase = 'stopping';
    state.state = 'stopping';
    await this.lifecycle.release(entry).catch((error: unknown) =>
      this.log('error', 'releasing a sandbox that migrated away left something behind', { sandboxId: id, error: describeError(error) }),
    );
    this.entries.delete(id);
    return migration;
  }

  /**
   * Takes in a sandbox migrating from another node: `departure` first, then its VM from
   * `source` as the source sends it. It keeps its address and its tenant network's plan, which
   * its state brings. A failure releases all it acquired here and throws; the source runs on.
   */
  async migrateIn(sandboxId: string, departure: LiveDeparture, source: Readable): Promise<SandboxInfo> {
    if (this.entries.has(sandboxId)) throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `sandbox ${sandboxId} is on this node already`, { context: { sandboxId } });
    const moved = parseMovedState(sandboxId, departure.state, 'running');
    const fresh = this.fresh();
    if (moved.accel !== fresh.accel) throw new RuntimeError(RuntimeErrorCode.MIGRATION_FAILED, `sandbox ${sandboxId} runs under ${moved.accel} and this node under ${fresh.accel}`, { context: { sandboxId } });
    const nic = moved.network?.nic?.mac;
    const address = moved.network?.guest?.addresses[0]?.address;
    const state: SandboxState = { ...arrivedState(moved, fresh), state: 'waking', arriving: { diskBytes: departure.diskBytes, mac: nic, address } };
    const entry: SandboxEntry = { phase: 'waking', state, incoming: source };
    this.entries.set(sandboxId, entry);
    const ctx = this.lifecycle.context(entry);
    try {
      await persistBeforeAcquiring(ctx);
      await acquireSteps(this.arriveSteps, ctx, (phase, fn) => timePhase(state.timings, phase, fn));
    } catch (error) {
      const failure = await startError(entry, error);
      this.entries.delete(sandboxId);
      await this.lifecycle.release(entry).catch((releaseError: unknown) =>
        this.log('error', 'releasing a failed live migration left something behind', { sandboxId, error: describeError(releaseError) }),
      );
      throw new RuntimeError(RuntimeErrorCode.MIGRATION_FAILED, `take in sandbox ${sandboxId}: ${failure.message}`, { cause: failure, context: { sandboxId } });
    }
    for (const step of this.arriveSteps) step.settle?.(ctx);
    entry.incoming = undefined;
    state.arriving = undefined;
    entry.phase = 'running';
    state.state = 'running';
    await ctx.save();
    this.lifecycle.startLogs(entry);
    ctx.notify();
    this.log('info', 'sandbox migrated in', { sandboxId, timings: state.timings });
    return infoOf(entry);
  }

  /** The running, savable sandbox's disk; throws when it cannot migrate. */
  private migratable(entry: SandboxEntry): string {
    const { state } = entry;
    const id = state.spec.id;
    const unsupported = vmNotSavable(state);
    if (unsupported) throw new RuntimeError(RuntimeErrorCode.HIBERNATE_UNSUPPORTED, `sandbox ${id} cannot migrate: ${unsupported}`, { context: { sandboxId: id } });
    const disk = state.sharedFs?.attachment.kind === 'block' ? state.sharedFs.attachment.imagePath : undefined;
    if (entry.phase !== 'running' || state.vmmPid === undefined || disk === undefined) {
      throw new RuntimeError(RuntimeErrorCode.SANDBOX_NOT_RUNNING, `sandbox ${id} is ${entry.phase}: only a running sandbox migrates`, { context: { sandboxId: id } });
    }
    return disk;
  }
}
