import { join } from 'node:path';
import { describeError, RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { Log } from '../log/log.types';
import type { SandboxEntry } from './model/sandbox.entry';
import { UUID } from './model/sandbox-spec';
import { vmIdOf, type SandboxState, type SandboxStateStore } from './model/sandbox.state';
import type { RuntimeDeps } from './runtime.deps';
import { vmmExitError } from './sandbox.failures';
import { removeSandboxDirs, type SandboxLifecycle } from './sandbox.lifecycle';
import { transportFor } from './steps/agent.step';
import type { SandboxHibernation } from './hibernation';

/**
 * What a runtime finds on disk when it opens: sandboxes whose VMM still runs are re-adopted,
 * those whose VMM died fail, and whatever was interrupted mid-create or mid-delete is released.
 */
export class SandboxRecovery {
  constructor(
    private readonly entries: Map<string, SandboxEntry>,
    private readonly store: SandboxStateStore,
    private readonly runDir: string,
    private readonly deps: RuntimeDeps,
    private readonly lifecycle: Pick<SandboxLifecycle, 'failAndRelease' | 'release' | 'startLogs'>,
    private readonly hibernation: Pick<SandboxHibernation, 'recover'>,
    private readonly log: Log,
  ) {}

  async recover(): Promise<void> {
    const { states, empty, unreadable } = await this.store.loadAll();
    // State is written before anything is acquired, so a dir without one holds nothing but itself.
    for (const { id, dir } of empty) if (UUID.test(id)) await removeSandboxDirs({ sandboxDir: dir, runDir: join(this.runDir, id) });
    for (const { dir, error } of unreadable) {
      // Without state we cannot tell which processes are its own; an operator must look.
      this.log('error', 'sandbox dir with unreadable state left in place', { dir, error: describeError(error) });
    }
    await Promise.all(states.map((state) => this.recoverOne(state)));
  }

  private async recoverOne(state: SandboxState): Promise<void> {
    const id = state.spec.id;
    const entry: SandboxEntry = { state, phase: state.state };
    const vmmPid = state.vmmPid;
    const alive = vmmPid !== undefined && (await this.deps.hypervisor.isRunning(vmmPid, vmIdOf(state)));
    if (await this.hibernation.recover(entry)) {
      this.entries.set(id, entry);
      return;
    }
    // A save that never finished leaves the VM running as before (paused, if the crash came
    // mid-save: its agent then does not answer and it fails like any unresponsive guest).
    if (state.state === 'hibernating') entry.phase = state.state = 'running';
    if (state.state === 'running' && alive) {
      this.entries.set(id, entry);
      await this.adopt(entry, vmmPid);
      return;
    }
    if (state.state === 'running') {
      // Its VMM died while nobody watched: it fails (and its policy decides), it is not silently booted again.
      this.entries.set(id, entry);
      const error = await vmmExitError(entry, this.deps);
      await this.lifecycle.failAndRelease(entry, new RuntimeError(error.code, `${error.message.split('\n')[0]} while the node agent was not running`, { context: error.context }));
      return;
    }
    // Interrupted mid-create or mid-delete, or a warm-pool VM (never `running`): release it all
    // (a create is retried if still desired, the pool refills).
    this.log('info', 'cleaning up sandbox that cannot be re-adopted', { sandboxId: id, state: state.state, vmAlive: alive });
    try {
      await this.lifecycle.release(entry);
    } catch (error) {
      this.log('error', 'cleanup of a stale sandbox left something behind', { sandboxId: id, error: describeError(error) });
    }
  }

  /** Reconnects to a running sandbox's guest agent after a runtime restart; a guest that does not answer fails it. */
  private async adopt(entry: SandboxEntry, vmmPid: number): Promise<void> {
    const { state } = entry;
    const id = state.spec.id;
    const agent = this.deps.connectAgent(transportFor(state));
    entry.agent = agent;
    try {
      await agent.waitReady(this.deps.adoptTimeoutMs, () => this.deps.hypervisor.guestFailure(vmmPid, vmIdOf(state), state.paths));
    } catch (cause) {
      const error = new RuntimeError(RuntimeErrorCode.AGENT_UNREACHABLE, `re-adopt: ${describeError(cause)}`, { cause, context: { sandboxId: id } });
      await this.lifecycle.failAndRelease(entry, error);
      return;
    }
    this.log('info', 're-adopted sandbox', { sandboxId: id, pid: vmmPid });
    this.lifecycle.startLogs(entry);
    if (state.network) {
      await this.deps.network
        ?.check(state.network.owner ?? id)
        .catch((error: unknown) => this.log('warn', 'CNI CHECK of a re-adopted sandbox failed', { sandboxId: id, error: describeError(error) }));
    }
  }
}
