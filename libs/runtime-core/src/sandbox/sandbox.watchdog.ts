import { describeError, RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { Log } from '../log/log.types';
import type { SandboxEntry } from './model/sandbox.entry';
import { vmIdOf } from './model/sandbox.state';
import type { RuntimeDeps } from './runtime.deps';
import { vmmExitError } from './sandbox.failures';
import type { SandboxLifecycle } from './sandbox.lifecycle';

/** How often running sandboxes' VMMs are checked for having died (a crash, the OOM killer, a kill -9). */
const WATCHDOG_INTERVAL_MS = 1_000;
/** How often a running sandbox's guest agent is asked whether it serves, how long it has to say so… */
const GUEST_PING = { intervalMs: 5_000, timeoutMs: 5_000 };
/** …and how many answers in a row it may miss before its sandbox fails: a busy TCG guest is slow, not dead. */
const GUEST_PINGS_MISSED_MAX = 3;

/**
 * The watchdog: a running sandbox whose VMM is gone (it crashed, the guest panicked, the OOM
 * killer took it for outgrowing its host cgroup, someone killed it), or whose guest agent has
 * stopped answering, fails with the reason and releases everything it held, so its deployment
 * replaces it and nothing is leaked.
 */
export class SandboxWatchdog {
  private readonly timer: NodeJS.Timeout;
  private sweeping = false;
  private lastPings = 0;

  /** Sweeps from here on, until `stop`. */
  constructor(
    private readonly entries: ReadonlyMap<string, SandboxEntry>,
    private readonly deps: RuntimeDeps,
    private readonly lifecycle: Pick<SandboxLifecycle, 'failAndRelease'>,
    private readonly log: Log,
  ) {
    this.timer = setInterval(() => void this.sweep(), deps.watchdogIntervalMs ?? WATCHDOG_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const live: SandboxEntry[] = [];
      for (const entry of [...this.entries.values()]) {
        const { vmmPid } = entry.state;
        if (entry.phase !== 'running' || vmmPid === undefined) continue;
        if (await this.deps.hypervisor.isRunning(vmmPid, vmIdOf(entry.state))) live.push(entry);
        // A delete may have begun while we looked: it releases the sandbox itself.
        else if (entry.phase === 'running') await this.lifecycle.failAndRelease(entry, await vmmExitError(entry, this.deps));
      }
      const pingInterval = this.deps.guestPingIntervalMs ?? GUEST_PING.intervalMs;
      if (Date.now() - this.lastPings >= pingInterval) {
        this.lastPings = Date.now();
        await Promise.all(live.map((entry) => this.pingGuest(entry)));
      }
    } catch (error) {
      this.log('error', 'VMM watchdog sweep failed', { error: describeError(error) });
    } finally {
      this.sweeping = false;
    }
  }

  private async pingGuest(entry: SandboxEntry): Promise<void> {
    const agent = entry.agent;
    if (!agent || entry.phase !== 'running' || entry.departing) return;
    let instance: string | undefined;
    try {
      instance = await agent.ping(GUEST_PING.timeoutMs);
      entry.missedPings = 0;
    } catch (error) {
      entry.missedPings = (entry.missedPings ?? 0) + 1;
      this.log('warn', 'the guest agent did not answer a health check', { sandboxId: entry.state.spec.id, missed: entry.missedPings, error: describeError(error) });
      if (entry.missedPings < GUEST_PINGS_MISSED_MAX || entry.phase !== 'running' || entry.departing) return;
      const message = `the guest agent did not answer ${entry.missedPings} health checks in a row (every ${GUEST_PING.intervalMs / 1000} s, ${GUEST_PING.timeoutMs / 1000} s each): ${describeError(error)}`;
      await this.lifecycle.failAndRelease(entry, new RuntimeError(RuntimeErrorCode.GUEST_UNRESPONSIVE, message, { cause: error, context: { sandboxId: entry.state.spec.id } }));
      return;
    }
    await this.checkInstance(entry, instance);
  }

  /**
   * A guest agent that died is started again by its VM's init, and answers as if nothing
   * happened, but holds none of the sandbox's containers any more: its sandbox fails. The first
   * instance seen is the one the sandbox keeps (it moves with the VM: see arrivedState).
   */
  private async checkInstance(entry: SandboxEntry, instance: string | undefined): Promise<void> {
    const { state } = entry;
    if (instance === undefined || entry.phase !== 'running' || entry.departing) return;
    if (state.agentInstance === undefined) {
      state.agentInstance = instance;
      return;
    }
    if (instance === state.agentInstance) return;
    const message = `the guest agent was started again in its VM (it died; instance ${state.agentInstance}, now ${instance}): the sandbox's containers are lost`;
    this.log('warn', 'the guest agent restarted', { sandboxId: state.spec.id, was: state.agentInstance, now: instance });
    await this.lifecycle.failAndRelease(entry, new RuntimeError(RuntimeErrorCode.GUEST_AGENT_RESTARTED, message, { context: { sandboxId: state.spec.id } }));
  }
}
