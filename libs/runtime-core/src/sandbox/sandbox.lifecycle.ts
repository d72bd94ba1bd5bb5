import type { AgentApi } from '../agent/agent.client';
import { isProtocolViolation } from '../agent/agent.validation';
import { describeError, RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { removeTree } from '../host/fs.helpers';
import type { Log } from '../log/log.types';
import { infoOf, type SandboxEntry } from './model/sandbox.entry';
import { containerIdOf, type SandboxStateStore } from './model/sandbox.state';
import type { RuntimeOptions, SandboxInfo } from './model/sandbox.types';
import { timePhase } from './model/timings';
import type { RuntimeDeps } from './runtime.deps';
import { LogPump } from './logs/log-pump';
import { LogRing } from './logs/log-ring';
import { startError } from './sandbox.failures';
import { AgentStep } from './steps/agent.step';
import { ContainerStep, GuestSandboxStep } from './steps/guest.steps';
import { JailStep } from './steps/jail.step';
import { NetworkStep } from './steps/network.step';
import { RootfsStep } from './steps/rootfs.step';
import { SharefsStep } from './steps/sharefs.step';
import { acquireSteps, persistBeforeAcquiring, releaseSteps, type StartStep, type StepContext } from './steps/start-step';
import { PlugStep, RestoreStep, vmShape, VmmStep, WakeStep } from './steps/vmm.step';
import { CloneDiskStep, IdentityStep, type ForkCaptures } from './steps/fork.steps';
import { ArrivingDiskStep } from './steps/arriving-disk.step';

/** The steps that hold a sandbox's running VM: a hibernate releases them, a wake acquires them again (see hibernation.ts). */
export interface VmSteps {
  /** In start order: network, VMM, agent. */
  release: readonly StartStep[];
  /** In start order: network, the VM woken from its state, agent. */
  wake: readonly StartStep[];
}

/** Bytes of main-process output kept per sandbox unless `RuntimeOptions.logBufferBytes` says otherwise. */
export const DEFAULT_LOG_BUFFER_BYTES = 1024 * 1024;

/**
 * Takes a sandbox up the list of steps in `steps` (rootfs, jail, shared fs, network, VMM, agent,
 * guest sandbox, container) and down again: a failed start, a delete and a crash recovery all
 * release that same list in reverse. A warm-pool VM is taken up only its jail, restore and agent
 * steps; the sandbox it is handed to skips those and plugs its devices in instead.
 */
export class SandboxLifecycle {
  private readonly steps: readonly StartStep[];
  private readonly poolSteps: readonly StartStep[];
  /** A clone's start (see forks.ts): its source's guest runs on in a VM of its own, under a new identity. */
  private readonly cloneSteps: readonly StartStep[];
  /** The steps that hold the running VM, for hibernate and wake (see hibernation.ts). */
  readonly vmSteps: VmSteps;
  /** A sandbox arriving from another node (see moves.ts, live-migration.ts). */
  readonly arrival: {
    /** A hibernated one: its jail (its files are moved in, its VM woken later). */
    saved: readonly StartStep[];
    /** A live-migrating one: its jail, the disk the stream fills, network, the VM taken in, agent. */
    live: readonly StartStep[];
  };

  constructor(
    private readonly opts: RuntimeOptions,
    private readonly deps: RuntimeDeps,
    private readonly store: SandboxStateStore,
    forks: ForkCaptures,
    private readonly log: Log,
  ) {
    const vmm = { hypervisor: deps.hypervisor, isolation: deps.isolation, guestImage: opts.guestImage, snapshots: deps.snapshots, log: this.log };
    const jail = new JailStep(deps.isolation, deps.hypervisor);
    const restore = new RestoreStep(vmm);
    const agent = new AgentStep({ hypervisor: deps.hypervisor, connectAgent: deps.connectAgent, bootTimeoutMs: deps.bootTimeoutMs });
    const network = new NetworkStep(deps.network, opts.dnsServers ?? []);
    const vmmStep = new VmmStep(vmm);
    const wake = new WakeStep(vmm);
    this.steps = [
      new RootfsStep(deps.rootfs),
      jail,
      new SharefsStep(deps.sharedFs, deps.isolation),
      network,
      restore,
      vmmStep,
      new PlugStep(deps.hypervisor, deps.isolation),
      agent,
      new GuestSandboxStep(deps.sharedFs, deps.hypervisor, opts.dnsServers ?? []),
      new ContainerStep(deps.hypervisor),
    ];
    this.poolSteps = [jail, restore, agent];
    this.vmSteps = { release: [network, vmmStep, agent], wake: [network, wake, agent] };
    this.cloneSteps = [jail, new CloneDiskStep(forks, deps.copyDisk), network, wake, agent, new IdentityStep()];
    this.arrival = { saved: [jail], live: [jail, new ArrivingDiskStep(), network, wake, agent] };
  }

  /**
   * Starts a warm-pool VM (`state.pooled`): jailed, restored with nothing of a sandbox plugged
   * in, its agent answering; the caller made sure its shape has a boot snapshot. A failure
   * releases what was acquired and throws.
   */
  async startPooled(entry: SandboxEntry): Promise<void> {
    const ctx = this.context(entry);
    try {
      await persistBeforeAcquiring(ctx);
      await acquireSteps(this.poolSteps, ctx, (phase, fn) => timePhase(entry.state.timings, phase, fn));
    } catch (error) {
      const failure = await startError(entry, error);
      await this.release(entry).catch((releaseError: unknown) =>
        this.log('error', 'releasing a failed warm-pool VM left something behind', { vmId: entry.state.spec.id, error: describeError(releaseError) }),
      );
      throw failure;
    }
  }

  /** Acquires every step in order; a failure releases them all and leaves the sandbox `failed` with the reason. */
  async start(entry: SandboxEntry): Promise<SandboxInfo> {
    const { state } = entry;
    const id = state.spec.id;
    const ctx = this.context(entry);
    this.log('info', 'creating sandbox', { sandboxId: id, accel: state.accel, sharedFs: state.sharedFsKind });
    const steps = state.spec.forkOf ? this.cloneSteps : this.steps;
    try {
      await acquireSteps(steps, ctx, async (phase, fn) => {
        await timePhase(state.timings, phase, fn);
        ctx.notify();
      });
      for (const step of steps) step.settle?.(ctx);
      state.state = 'running';
      entry.phase = 'running';
      await ctx.save();
      this.startLogs(entry);
      // A shape that boots fine gets a snapshot, so its next sandboxes are restored instead.
      if (!state.restored && !state.spec.forkOf) void this.deps.snapshots?.request(vmShape(state, this.opts.guestImage));
      this.log('info', 'sandbox running', { sandboxId: id, timings: state.timings });
      ctx.notify();
    } catch (error) {
      await this.failAndRelease(entry, await startError(entry, error));
    }
    return infoOf(entry);
  }

  /** Starts a `deferStart` sandbox's waiting init (its caller reads its output: no log ring). */
  async startInit(entry: SandboxEntry, agent: AgentApi): Promise<void> {
    const { state } = entry;
    if (!state.initWaiting) {
      throw new RuntimeError(RuntimeErrorCode.CONTAINER_WRONG_STATE, `sandbox ${state.spec.id}'s container is already started`, { context: { sandboxId: state.spec.id } });
    }
    await agent.startContainer(containerIdOf(state));
    state.initWaiting = undefined;
    await this.store.save(state);
  }

  /**
   * Starts reading the running container's main-process output into its ring: a new one on a
   * start or a re-adoption after a node agent restart (what the previous agent held is gone with
   * it), the one it had on a wake. Not for a `deferStart` sandbox: whoever started its init reads its output.
   */
  startLogs(entry: SandboxEntry): void {
    const { agent } = entry;
    const id = entry.state.spec.id;
    if (!agent || entry.state.spec.deferStart) return;
    entry.logs ??= new LogRing(this.opts.logBufferBytes ?? DEFAULT_LOG_BUFFER_BYTES);
    entry.logPump = new LogPump(agent, containerIdOf(entry.state), entry.logs, (error, stream) => {
      this.log('warn', `reading the main process's ${stream} failed`, { sandboxId: id, error: describeError(error) });
      // A guest that lies to us loses its sandbox, as it would on any other call.
      if (isProtocolViolation(error) && entry.phase === 'running') void this.failAndRelease(entry, error);
    });
  }

  /** Marks the sandbox failed with `error` and releases everything it holds (logging, not throwing, what is left behind). */
  async failAndRelease(entry: SandboxEntry, error: RuntimeError): Promise<void> {
    this.log('error', 'sandbox failed', { sandboxId: entry.state.spec.id, code: error.code, error: error.message });
    entry.phase = 'failed';
    entry.error = { code: error.code, message: error.message };
    entry.progress = undefined;
    try {
      await this.release(entry);
    } catch (releaseError) {
      this.log('error', 'releasing a failed sandbox left something behind', { sandboxId: entry.state.spec.id, error: describeError(releaseError) });
    }
    // A failed sandbox holds nothing on the host; only this in-memory record remains until delete.
    entry.state.state = 'failed';
    this.notify(entry);
  }

  /** A delete: the sandbox is `stopping` (persisted) unless it already failed, then everything is released. */
  async stop(entry: SandboxEntry): Promise<void> {
    if (entry.phase !== 'failed') {
      entry.phase = 'stopping';
      entry.state.state = 'stopping';
      this.notify(entry);
      await this.store.save(entry.state).catch(() => undefined);
    }
    await this.release(entry);
  }

  /**
   * Releases every step in reverse. The sandbox's dirs (its state file included) go only when
   * everything else was released, so what is left can still be found and released later. One
   * release at a time: a delete that arrives while a failure is being released (the sandbox
   * already reads `failed`) waits for that release instead of running the steps a second time.
   */
  release(entry: SandboxEntry): Promise<void> {
    entry.releasing ??= this.releaseSteps(entry).finally(() => {
      entry.releasing = undefined;
    });
    return entry.releasing;
  }

  private async releaseSteps(entry: SandboxEntry): Promise<void> {
    const id = entry.state.spec.id;
    // Before the container goes, so no read fails for its removal; the ring stays until delete.
    await entry.logPump?.stop();
    entry.logPump = undefined;
    const failures = await releaseSteps(this.steps, this.context(entry), (step) => this.log('debug', 'releasing', { sandboxId: id, step: step.phase }));
    for (const { step, error } of failures) {
      this.log('warn', `release step ${step.phase} failed`, { sandboxId: id, error: describeError(error) });
    }
    if (failures.length > 0) {
      const first = failures[0].error;
      throw new RuntimeError(RuntimeErrorCode.PROCESS_FAILED, `release sandbox ${id}: ${describeError(first)}`, { cause: first });
    }
    await removeSandboxDirs(entry.state.paths);
  }

  private notify(entry: SandboxEntry): void {
    try {
      entry.onUpdate?.(infoOf(entry));
    } catch (error) {
      this.log('warn', 'sandbox update callback threw', { sandboxId: entry.state.spec.id, error: describeError(error) });
    }
  }

  /** What the steps of `entry` work on. */
  context(entry: SandboxEntry): StepContext {
    return { entry, save: () => this.store.save(entry.state), notify: () => this.notify(entry), cancelled: () => entry.cancelled === true };
  }
}

/** A sandbox's run and data dirs, its state file included. */
export async function removeSandboxDirs(paths: { runDir: string; sandboxDir: string }): Promise<void> {
  await removeTree(paths.runDir);
  await removeTree(paths.sandboxDir);
}
