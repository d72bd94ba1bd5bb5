import { rename, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { describeError, RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { removeTree } from '../host/fs.helpers';
import type { Hypervisor } from '../hypervisor/hypervisor';
import type { Log } from '../log/log.types';
import type { PlannedAddress } from '../network/network.types';
import type { SandboxEntry } from './model/sandbox.entry';
import { savedVmFilesFor, savedVmOf, vmNotSavable, type SandboxState } from './model/sandbox.state';
import { timePhase } from './model/timings';
import type { IsolationPort } from './steps/jail.step';
import { runningVmOf } from './steps/vmm.step';
import { acquireSteps, releaseSteps, type StepContext } from './steps/start-step';
import { startError } from './sandbox.failures';
import type { SandboxLifecycle } from './sandbox.lifecycle';

/** The saved VM's files in the sandbox's data dir (`hibernated.state`, and `hibernated.ram` for a restored VM): they go with the sandbox. */
export const HIBERNATED_VM = 'hibernated';
/** Where a VM that ran after a failed wake is saved again, beside the files it woke from (see `saveAgain`); the next re-save takes the first name back. */
const RESAVED_VM = 'hibernated-again';

/** The suffix of a woken VM's saved file on its way out. */
const DISCARDED_SUFFIX = '.discarded';

/**
 * Hibernate and wake (E2B's pause and resume, Fly's suspend): a hibernated sandbox's VM is
 * saved whole — RAM, devices — into a file beside its writable block rootfs, and its VMM and
 * network plumbing are released; its rootfs, disk, jail and guest address are kept. A wake
 * plumbs the network again with the guest's own MAC and address, starts a VMM that loads the
 * state, and reconnects to the agent: every process runs on where it was.
 */
export class SandboxHibernation {
  constructor(
    private readonly hypervisor: Pick<Hypervisor, 'hibernate'>,
    private readonly isolation: Pick<IsolationPort, 'vmm'>,
    private readonly lifecycle: Pick<SandboxLifecycle, 'context' | 'startLogs' | 'failAndRelease' | 'vmSteps'>,
    private readonly log: Log,
  ) {}

  /**
   * Saves the running VM and releases it. A sandbox that cannot be saved, or whose save fails,
   * keeps running (the error says why); one hibernated or hibernating already is left alone.
   */
  async hibernate(entry: SandboxEntry): Promise<void> {
    const { state } = entry;
    const id = state.spec.id;
    if (entry.phase === 'hibernated' || entry.phase === 'hibernating') return;
    const unsupported = vmNotSavable(state);
    if (unsupported) throw new RuntimeError(RuntimeErrorCode.HIBERNATE_UNSUPPORTED, `sandbox ${id} cannot hibernate: ${unsupported}`, { context: { sandboxId: id } });
    const pid = state.vmmPid;
    if (entry.phase !== 'running' || pid === undefined) {
      throw new RuntimeError(RuntimeErrorCode.SANDBOX_NOT_RUNNING, `sandbox ${id} is ${entry.phase}: only a running sandbox hibernates`, { context: { sandboxId: id } });
    }
    const ctx = this.lifecycle.context(entry);
    await this.enter(ctx, 'hibernating');
    // Nobody talks to the guest while it is saved: its agent sees the host leave, and a new one come after the wake.
    await entry.logPump?.detach();
    entry.logPump = undefined;
    entry.agent?.close();
    entry.agent = undefined;
    const saved = savedVmFilesFor(state, state.paths.sandboxDir, HIBERNATED_VM);
    const started = performance.now();
    try {
      await this.hypervisor.hibernate(runningVmOf(state, pid, this.isolation), savedVmOf(saved));
    } catch (error) {
      await this.runOn(entry, error);
      throw error;
    }
    const guest = state.network?.guest;
    state.hibernation = { ...saved, savedBytes: await savedBytes(saved, state), mac: state.network?.nic?.mac, address: guest?.addresses[0]?.address };
    // From here the saved VM is what counts: a crash before the release below is finished by the next runtime.
    state.state = 'hibernated';
    await ctx.save();
    const failures = await releaseSteps(this.lifecycle.vmSteps.release, ctx);
    for (const { step, error } of failures) this.log('error', `hibernate: releasing ${step.phase} left something behind`, { sandboxId: id, error: describeError(error) });
    this.log('info', 'sandbox hibernated', { sandboxId: id, savedBytes: state.hibernation.savedBytes, ms: Math.round(performance.now() - started) });
    await this.enter(ctx, 'hibernated');
  }

  /**
   * Wakes a hibernated sandbox: its VM runs again from its saved state, on `planned`'s address
   * when the control plane gives one (the one it had). A wake that fails releases what it
   * acquired and leaves the sandbox hibernated, its saved state intact, with the reason as its
   * error (nothing of it is lost; the next wake tries again); a running or waking one is left alone.
   */
  async wake(entry: SandboxEntry, planned?: PlannedAddress): Promise<void> {
    const { state } = entry;
    const id = state.spec.id;
    if (entry.phase === 'running' || entry.phase === 'waking') return;
    const saved = state.hibernation;
    if (entry.phase !== 'hibernated' || !saved) {
      throw new RuntimeError(RuntimeErrorCode.SANDBOX_NOT_RUNNING, `sandbox ${id} is ${entry.phase}, not hibernated: there is nothing to wake`, { context: { sandboxId: id } });
    }
    if (planned && state.spec.network) state.spec.network.planned = planned;
    const ctx = this.lifecycle.context(entry);
    // Its timings become the wake's.
    state.timings = [];
    await this.enter(ctx, 'waking');
    const steps = this.lifecycle.vmSteps.wake;
    entry.error = undefined;
    try {
      await acquireSteps(steps, ctx, (phase, fn) => timePhase(state.timings, phase, fn));
    } catch (error) {
      const failure = await startError(entry, error);
      // The VMM step records its pid once the guest runs: from then on its disk may differ from the saved VM.
      if (state.vmmPid !== undefined && !(await this.saveAgain(entry, failure))) return;
      await this.stayHibernated(entry, failure);
      return;
    }
    for (const step of steps) step.settle?.(ctx);
    state.hibernation = undefined;
    await this.enter(ctx, 'running');
    await this.discard(id, [saved.stateFile, saved.memoryFile]);
    this.lifecycle.startLogs(entry);
    this.log('info', 'sandbox woken', { sandboxId: id, timings: state.timings });
  }

  /**
   * A runtime opening on a sandbox that was hibernating (its save never finished: it runs, or
   * ran, as before), hibernated (a crash may have left its VM or network unreleased) or waking
   * (its saved state is still there): the latter two are made hibernated again, holding only
   * what a hibernated sandbox holds. Returns false for the first, which is re-adopted as running.
   */
  async recover(entry: SandboxEntry): Promise<boolean> {
    const { state } = entry;
    if (!state.hibernation || (state.state !== 'hibernated' && state.state !== 'waking')) return false;
    // A wake cut short after its guest ran (the VMM step recorded its pid): as after a failed wake.
    if (state.state === 'waking' && state.vmmPid !== undefined) {
      const interrupted = new RuntimeError(RuntimeErrorCode.HIBERNATE_FAILED, 'the node agent stopped while the sandbox woke');
      if (!(await this.saveAgain(entry, interrupted))) return true;
    }
    const failures = await releaseSteps(this.lifecycle.vmSteps.release, this.lifecycle.context(entry));
    for (const { step, error } of failures) this.log('error', `recovering a hibernated sandbox: releasing ${step.phase} failed`, { sandboxId: state.spec.id, error: describeError(error) });
    await this.enter(this.lifecycle.context(entry), 'hibernated');
    return true;
  }

  /**
   * A wake that failed after its guest ran: the guest may have written to its disk since it was
   * saved, so waking the old saved VM again would run it on a disk it does not know (a corrupt
   * filesystem). Its VM is saved again (no agent needed) beside the old one, which then goes.
   * Returns false when it could not be (its VMM died): the sandbox has failed, with both reasons.
   */
  private async saveAgain(entry: SandboxEntry, failure: RuntimeError): Promise<boolean> {
    const { state } = entry;
    const id = state.spec.id;
    const old = state.hibernation;
    const pid = state.vmmPid;
    if (!old || pid === undefined) return true;
    entry.agent?.close();
    entry.agent = undefined;
    const next = savedVmFilesFor(state, state.paths.sandboxDir, basename(old.stateFile).startsWith(`${RESAVED_VM}.`) ? HIBERNATED_VM : RESAVED_VM);
    try {
      await this.hypervisor.hibernate(runningVmOf(state, pid, this.isolation), savedVmOf(next));
    } catch (error) {
      const message = `${failure.message}; its VM had run, and saving it again failed (${describeError(error)}), so its saved state no longer matches its disk`;
      await this.lifecycle.failAndRelease(entry, new RuntimeError(failure.code, message, { context: { sandboxId: id } }));
      return false;
    }
    state.hibernation = { ...old, ...next, savedBytes: await savedBytes(next, state) };
    await this.lifecycle.context(entry).save();
    await this.discard(id, [old.stateFile, old.memoryFile]);
    this.log('info', 'a failed wake ran its VM: saved again', { sandboxId: id, savedBytes: state.hibernation.savedBytes });
    return true;
  }

  /** A wake that failed: what it acquired goes, the saved VM stays, and the sandbox is hibernated with the reason. */
  private async stayHibernated(entry: SandboxEntry, error: RuntimeError): Promise<void> {
    const ctx = this.lifecycle.context(entry);
    const id = entry.state.spec.id;
    this.log('error', 'waking a hibernated sandbox failed; it stays hibernated', { sandboxId: id, code: error.code, error: error.message });
    const failures = await releaseSteps(this.lifecycle.vmSteps.release, ctx);
    for (const { step, error: releaseError } of failures) this.log('error', `releasing a failed wake's ${step.phase} failed`, { sandboxId: id, error: describeError(releaseError) });
    entry.error = { code: error.code, message: error.message };
    await this.enter(ctx, 'hibernated');
  }

  /** A save that failed: the VM runs on, so its agent is connected again and the sandbox is running. */
  private async runOn(entry: SandboxEntry, error: unknown): Promise<void> {
    const ctx = this.lifecycle.context(entry);
    this.log('warn', 'hibernate failed; the sandbox runs on', { sandboxId: entry.state.spec.id, error: describeError(error) });
    const agentStep = this.lifecycle.vmSteps.release.find((step) => step.phase === 'agent');
    try {
      if (agentStep) await acquireSteps([agentStep], ctx, (_phase, fn) => fn());
    } catch (reconnect) {
      await this.lifecycle.failAndRelease(entry, await startError(entry, reconnect));
      return;
    }
    await this.enter(ctx, 'running');
    this.lifecycle.startLogs(entry);
  }

  /**
   * Removes a woken VM's saved files without waiting for the blocks to be freed (tens of ms for
   * a saved RAM on a disk): renamed out of the way first, so a new hibernation's files are never
   * the ones removed; what a crash leaves goes with the sandbox's dir.
   */
  private async discard(sandboxId: string, files: (string | undefined)[]): Promise<void> {
    for (const file of files) {
      if (file === undefined) continue;
      const discarded = await rename(file, `${file}${DISCARDED_SUFFIX}`).then(
        () => `${file}${DISCARDED_SUFFIX}`,
        () => file,
      );
      void removeTree(discarded).catch((error: unknown) => this.log('warn', "removing a woken sandbox's saved VM failed", { sandboxId, file, error: describeError(error) }));
    }
  }

  private async enter(ctx: StepContext, phase: 'hibernating' | 'hibernated' | 'waking' | 'running'): Promise<void> {
    ctx.entry.phase = phase;
    ctx.entry.state.state = phase;
    await ctx.save();
    ctx.notify();
  }
}

/** What a hibernated sandbox keeps on its node: its saved state, and the blocks its saved RAM and its disk take (sparse files). */
async function savedBytes(saved: { stateFile: string; memoryFile?: string }, state: SandboxState): Promise<number> {
  const disk = state.sharedFs?.attachment.kind === 'block' ? state.sharedFs.attachment.imagePath : undefined;
  const sparse = [saved.memoryFile, disk].filter((file) => file !== undefined);
  const blocks = await Promise.all(sparse.map(async (file) => ((await stat(file).catch(() => undefined))?.blocks ?? 0) * 512));
  return blocks.reduce((sum, bytes) => sum + bytes, (await stat(saved.stateFile)).size);
}
