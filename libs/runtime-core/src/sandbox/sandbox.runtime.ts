import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { isProtocolViolation, type AgentApi, type ContainerStats, type ExecOutput } from '../agent/agent.client';
import { ProcessSession, type SessionOptions } from '../agent/process-session';
import { chooseAgentTransport } from '../agent/transport/agent-transport';
import { describeError, RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { readTail, removeTree } from '../host/fs.helpers';
import { kvmUsable, resolveAccel, vhostVsockUsable, type Accel } from '../host/host-info';
import { SandboxNetworks } from '../network/sandbox-networks';
import { envList } from './model/oci-spec';
import { defaultDeps, DEFAULT_RUN_DIR, openBootSnapshots, openIsolation, type RuntimeDeps } from './runtime.deps';
import { UUID, validateSpec } from './model/sandbox-spec';
import { infoOf, type SandboxEntry } from './model/sandbox.entry';
import { DEFAULT_MEMORY_DIR, sandboxPaths, SandboxStateStore, type SandboxState } from './model/sandbox.state';
import type { ExecOptions, RuntimeOptions, SandboxInfo, SandboxSpec } from './model/sandbox.types';
import { AgentStep, transportFor } from './steps/agent.step';
import { ContainerStep, GuestSandboxStep } from './steps/guest.steps';
import { JailStep } from './steps/jail.step';
import { NetworkStep } from './steps/network.step';
import { RootfsStep } from './steps/rootfs.step';
import { SharefsStep } from './steps/sharefs.step';
import { acquireSteps, releaseSteps, StepFailure, type StartStep, type StepContext } from './steps/start-step';
import { RestoreStep, vmShape, VmmStep } from './steps/vmm.step';
import { timePhase } from './model/timings';

export type { RuntimeDeps } from './runtime.deps';

const CONSOLE_TAIL_BYTES = 2048;
/** How often running sandboxes' VMMs are checked for having died (a crash, the OOM killer, a kill -9). */
const WATCHDOG_INTERVAL_MS = 1_000;
/** How often a running sandbox's guest agent is asked whether it serves, how long it has to say so… */
const GUEST_PING = { intervalMs: 5_000, timeoutMs: 5_000 };
/** …and how many answers in a row it may miss before its sandbox fails: a busy TCG guest is slow, not dead. */
const GUEST_PINGS_MISSED_MAX = 3;

/**
 * Runs sandbox VMs on this host and keeps their state on disk, so a restarted node agent can
 * pick up the VMs it left running. A start is the list of steps in `steps` (rootfs, shared fs,
 * network, VMM, agent, guest sandbox, container); a failed start, a delete and a crash recovery
 * all release that same list in reverse.
 */
export class SandboxRuntime {
  private readonly entries = new Map<string, SandboxEntry>();
  private readonly store: SandboxStateStore;
  private readonly runDir: string;
  private readonly memoryDir: string;
  private readonly log: NonNullable<RuntimeOptions['log']>;
  private readonly steps: readonly StartStep[];
  private readonly watchdog: NodeJS.Timeout;
  private sweeping = false;
  private lastPings = 0;

  private constructor(
    private readonly opts: RuntimeOptions,
    private readonly accel: Accel,
    private readonly deps: RuntimeDeps,
  ) {
    this.store = new SandboxStateStore(opts.dataDir);
    this.runDir = opts.runDir ?? DEFAULT_RUN_DIR;
    this.memoryDir = opts.memoryDir ?? DEFAULT_MEMORY_DIR;
    this.log = opts.log ?? (() => undefined);
    const vmm = { hypervisor: deps.hypervisor, isolation: deps.isolation, guestImage: opts.guestImage, snapshots: deps.snapshots, log: this.log };
    this.steps = [
      new RootfsStep(deps.rootfs),
      new JailStep(deps.isolation, deps.hypervisor),
      new SharefsStep(deps.sharedFs, deps.isolation),
      new NetworkStep(deps.network, opts.dnsServers ?? []),
      new RestoreStep(vmm),
      new VmmStep(vmm),
      new AgentStep({ hypervisor: deps.hypervisor, connectAgent: deps.connectAgent, bootTimeoutMs: deps.bootTimeoutMs }),
      new GuestSandboxStep(deps.sharedFs, deps.hypervisor, opts.dnsServers ?? []),
      new ContainerStep(deps.hypervisor),
    ];
    this.watchdog = setInterval(() => void this.sweepDeadVmms(), deps.watchdogIntervalMs ?? WATCHDOG_INTERVAL_MS);
    this.watchdog.unref();
  }

  /** Loads on-disk state, re-adopts sandboxes whose VMM is still alive, and cleans up the rest. */
  static async open(opts: RuntimeOptions, deps: Partial<RuntimeDeps> = {}): Promise<SandboxRuntime> {
    if (opts.accel === 'kvm' && !(await kvmUsable())) {
      throw new RuntimeError(RuntimeErrorCode.HOST_UNSUPPORTED, 'accel kvm requested but /dev/kvm cannot be opened read-write');
    }
    const network = opts.network && (await SandboxNetworks.create(opts.network));
    const agentTransport = deps.agentTransport ?? chooseAgentTransport({ hypervisor: 'qemu', vhostVsock: await vhostVsockUsable() });
    const defaults = defaultDeps(opts);
    const hypervisor = deps.hypervisor ?? defaults.hypervisor;
    const isolation = deps.isolation ?? (await openIsolation(opts));
    if (!isolation.jailed) opts.log?.('warn', 'VMMs run unjailed (MOAT_JAIL=false): as root, in the host namespaces, without seccomp; for debugging only');
    const snapshots = deps.snapshots ?? (await openBootSnapshots(opts, agentTransport, hypervisor, isolation));
    const runtime = new SandboxRuntime(opts, await resolveAccel(opts.accel), {
      ...defaults,
      ...(network && { network }),
      ...(snapshots && { snapshots }),
      ...deps,
      isolation,
      agentTransport,
    });
    await runtime.recover();
    return runtime;
  }

  /** Resolves once no boot snapshot is being saved (benchmarks and tests wait for one). */
  snapshotsIdle(): Promise<void> {
    return this.deps.snapshots?.idle() ?? Promise.resolve();
  }

  list(): SandboxInfo[] {
    return [...this.entries.values()].map(infoOf);
  }

  get(id: string): SandboxInfo | undefined {
    const entry = this.entries.get(id);
    return entry && infoOf(entry);
  }

  /**
   * Starts a sandbox and resolves once it is running or has failed; a VM failure does not
   * throw but resolves `failed` with the reason, after releasing everything. Calling it again
   * for a known id returns that sandbox (awaiting an in-flight start).
   */
  async create(spec: SandboxSpec, onUpdate?: (info: SandboxInfo) => void): Promise<SandboxInfo> {
    validateSpec(spec);
    const existing = this.entries.get(spec.id);
    if (existing) return existing.creating ?? infoOf(existing);

    const entry: SandboxEntry = {
      phase: 'creating',
      onUpdate,
      state: {
        version: 1,
        spec: structuredClone(spec),
        state: 'creating',
        accel: this.accel,
        transport: this.deps.agentTransport ?? 'virtio-serial',
        sharedFsKind: spec.rootfs ?? this.opts.sharedFs ?? 'virtiofs',
        paths: sandboxPaths(this.opts.dataDir, this.runDir, spec.id, this.memoryDir),
        timings: [],
        sandboxCreated: false,
        containerCreated: false,
      },
    };
    this.entries.set(spec.id, entry);
    entry.creating = this.start(entry).finally(() => {
      entry.creating = undefined;
    });
    return entry.creating;
  }

  async exec(id: string, opts: ExecOptions): Promise<ExecOutput> {
    const { entry, agent } = this.running(id);
    if (opts.command.length === 0) throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, 'exec needs a command');
    try {
      return await agent.exec({
        containerId: id,
        execId: `exec-${randomUUID()}`,
        args: opts.command,
        env: envList(entry.state.process?.env ?? {}, entry.state.spec.env, opts.env ?? {}),
        cwd: opts.cwd ?? entry.state.process?.cwd ?? '/',
        stdin: opts.stdin,
        timeoutMs: opts.timeoutMs,
        tty: opts.tty,
      });
    } catch (error) {
      await this.failIfProtocolViolation(entry, error);
      throw error;
    }
  }

  /**
   * Starts an interactive process (e.g. a shell on a TTY) whose I/O the caller streams; a guest
   * that breaks the protocol during the session fails the sandbox like a batch exec does.
   */
  async openSession(id: string, opts: SessionOptions): Promise<ProcessSession> {
    const { entry, agent } = this.running(id);
    return ProcessSession.start(agent, { ...opts, env: envList(entry.state.spec.env, opts.env ?? {}) }, id, (error) => {
      void this.failIfProtocolViolation(entry, error);
    });
  }

  /** The container's live resource use (cgroup v2 counters in the guest). */
  async stats(id: string): Promise<ContainerStats> {
    const { entry, agent } = this.running(id);
    try {
      return await agent.stats(id);
    } catch (error) {
      await this.failIfProtocolViolation(entry, error);
      throw error;
    }
  }

  /** Freezes (`paused: true`) or thaws every process of the sandbox's container (cgroup v2 freezer). */
  async setPaused(id: string, paused: boolean): Promise<void> {
    const { agent } = this.running(id);
    if (paused) await agent.pauseContainer(id);
    else await agent.resumeContainer(id);
  }

  /** A guest that lies to us loses its sandbox; it cannot be trusted with another call. */
  private async failIfProtocolViolation(entry: SandboxEntry, error: unknown): Promise<void> {
    if (isProtocolViolation(error)) await this.failAndRelease(entry, error);
  }

  private running(id: string): { entry: SandboxEntry; agent: AgentApi } {
    const entry = this.entries.get(id);
    if (!entry) throw new RuntimeError(RuntimeErrorCode.SANDBOX_NOT_FOUND, `sandbox ${id} not found`, { context: { sandboxId: id } });
    if (entry.phase !== 'running' || !entry.agent) {
      throw new RuntimeError(RuntimeErrorCode.SANDBOX_NOT_RUNNING, `sandbox ${id} is ${entry.phase}`, { context: { sandboxId: id } });
    }
    return { entry, agent: entry.agent };
  }

  /** Removes the container, stops the VM and shared-fs daemon, and deletes every file; idempotent. */
  async delete(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) {
      // Nothing known, but a crash could have left dirs named by a well-formed id.
      if (UUID.test(id)) await this.removeDirs(sandboxPaths(this.opts.dataDir, this.runDir, id, this.memoryDir));
      return;
    }
    if (entry.creating) await entry.creating;
    entry.deleting ??= this.stop(entry).finally(() => {
      entry.deleting = undefined;
    });
    await entry.deleting;
    this.entries.delete(id);
  }

  /**
   * Abandons every start in progress: each stops at its next step (a guest it waits for counts
   * as gone) and releases what it acquired, ending `failed` with START_CANCELLED. For a node
   * agent that stops its sandboxes on exit, so nothing that was starting outlives it.
   */
  cancelStarts(): void {
    for (const entry of this.entries.values()) if (entry.creating) entry.cancelled = true;
  }

  /** Disconnects from the guest agents (the VMs keep running for the next `open`) and stops saving snapshots. */
  async close(): Promise<void> {
    clearInterval(this.watchdog);
    for (const entry of this.entries.values()) entry.agent?.close();
    this.entries.clear();
    await this.deps.snapshots?.close();
  }

  private notify(entry: SandboxEntry): void {
    try {
      entry.onUpdate?.(infoOf(entry));
    } catch (error) {
      this.log('warn', 'sandbox update callback threw', { sandboxId: entry.state.spec.id, error: describeError(error) });
    }
  }

  private context(entry: SandboxEntry): StepContext {
    return { entry, save: () => this.store.save(entry.state), notify: () => this.notify(entry), cancelled: () => entry.cancelled === true };
  }

  private async start(entry: SandboxEntry): Promise<SandboxInfo> {
    const { state } = entry;
    const id = state.spec.id;
    const ctx = this.context(entry);
    this.log('info', 'creating sandbox', { sandboxId: id, accel: state.accel, sharedFs: state.sharedFsKind });
    try {
      await acquireSteps(this.steps, ctx, async (phase, fn) => {
        await timePhase(state.timings, phase, fn);
        ctx.notify();
      });
      for (const step of this.steps) step.settle?.(ctx);
      state.state = 'running';
      entry.phase = 'running';
      await ctx.save();
      // A shape that boots fine gets a snapshot, so its next sandboxes are restored instead.
      if (!state.restored) void this.deps.snapshots?.request(vmShape(state, this.opts.guestImage));
      this.log('info', 'sandbox running', { sandboxId: id, timings: state.timings });
      ctx.notify();
    } catch (error) {
      await this.failAndRelease(entry, await this.startError(entry, error));
    }
    return infoOf(entry);
  }

  /**
   * The watchdog: a running sandbox whose VMM is gone (it crashed, the guest panicked, the OOM
   * killer took it for outgrowing its host cgroup, someone killed it), or whose guest agent has
   * stopped answering, fails with the reason and releases everything it held, so its deployment
   * replaces it and nothing is leaked.
   */
  private async sweepDeadVmms(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const live: SandboxEntry[] = [];
      for (const entry of [...this.entries.values()]) {
        const { vmmPid, spec } = entry.state;
        if (entry.phase !== 'running' || vmmPid === undefined) continue;
        if (await this.deps.hypervisor.isRunning(vmmPid, spec.id)) live.push(entry);
        // A delete may have begun while we looked: it releases the sandbox itself.
        else if (entry.phase === 'running') await this.failAndRelease(entry, await this.vmmExitError(entry));
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
    if (!agent || entry.phase !== 'running') return;
    try {
      await agent.ping(GUEST_PING.timeoutMs);
      entry.missedPings = 0;
    } catch (error) {
      entry.missedPings = (entry.missedPings ?? 0) + 1;
      this.log('warn', 'the guest agent did not answer a health check', { sandboxId: entry.state.spec.id, missed: entry.missedPings, error: describeError(error) });
      if (entry.missedPings < GUEST_PINGS_MISSED_MAX || entry.phase !== 'running') return;
      const message = `the guest agent did not answer ${entry.missedPings} health checks in a row (every ${GUEST_PING.intervalMs / 1000} s, ${GUEST_PING.timeoutMs / 1000} s each): ${describeError(error)}`;
      await this.failAndRelease(entry, new RuntimeError(RuntimeErrorCode.GUEST_UNRESPONSIVE, message, { cause: error, context: { sandboxId: entry.state.spec.id } }));
    }
  }

  private async vmmExitError(entry: SandboxEntry): Promise<RuntimeError> {
    const { state } = entry;
    const oomKills = state.isolation ? await this.deps.isolation.oomKills(state.isolation).catch(() => 0) : 0;
    const tail = (await readTail(state.paths.consoleLog, CONSOLE_TAIL_BYTES)).trim();
    const how = await this.deps.hypervisor.exitReason(state.paths).catch(() => undefined);
    const context = { sandboxId: state.spec.id, ...(how && { exit: how }) };
    if (oomKills > 0) {
      return new RuntimeError(RuntimeErrorCode.VMM_OUT_OF_MEMORY, `the VMM outgrew its host cgroup's memory limit and the kernel's OOM killer killed it${how ? ` (${how})` : ''}`, { context });
    }
    const console = tail ? `\n--- console (last ${CONSOLE_TAIL_BYTES} bytes) ---\n${tail}` : '';
    return new RuntimeError(RuntimeErrorCode.VMM_EXITED, `the VMM ${how ?? 'exited'}${console}`, { context });
  }

  /** Names the failed step and, for boot failures, adds what the guest printed. */
  private async startError(entry: SandboxEntry, error: unknown): Promise<RuntimeError> {
    const failure = error instanceof StepFailure ? error : undefined;
    const cause = failure ? failure.cause : error;
    const phase = failure?.step.phase ?? 'start';
    const code = cause instanceof RuntimeError ? cause.code : (failure?.step.failureCode ?? RuntimeErrorCode.PROCESS_FAILED);
    let message = `${phase}: ${describeError(cause)}`;
    if (code === RuntimeErrorCode.VM_BOOT_FAILED || code === RuntimeErrorCode.VMM_START_FAILED) {
      const tail = (await readTail(entry.state.paths.consoleLog, CONSOLE_TAIL_BYTES)).trim();
      if (tail && !message.includes(tail)) message += `\n--- console (last ${CONSOLE_TAIL_BYTES} bytes) ---\n${tail}`;
    }
    return new RuntimeError(code, message, { cause, context: { sandboxId: entry.state.spec.id, phase } });
  }

  private async failAndRelease(entry: SandboxEntry, error: RuntimeError): Promise<void> {
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

  private async stop(entry: SandboxEntry): Promise<void> {
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
   * everything else was released, so what is left can still be found and released later.
   */
  private async release(entry: SandboxEntry): Promise<void> {
    const id = entry.state.spec.id;
    const failures = await releaseSteps(this.steps, this.context(entry), (step) => this.log('debug', 'releasing', { sandboxId: id, step: step.phase }));
    for (const { step, error } of failures) {
      this.log('warn', `release step ${step.phase} failed`, { sandboxId: id, error: describeError(error) });
    }
    if (failures.length > 0) {
      const first = failures[0].error;
      throw new RuntimeError(RuntimeErrorCode.PROCESS_FAILED, `release sandbox ${id}: ${describeError(first)}`, { cause: first });
    }
    await this.removeDirs(entry.state.paths);
  }

  private async removeDirs(paths: { runDir: string; sandboxDir: string }): Promise<void> {
    await removeTree(paths.runDir);
    await removeTree(paths.sandboxDir);
  }

  private async recover(): Promise<void> {
    const { states, empty, unreadable } = await this.store.loadAll();
    // State is written before anything is acquired, so a dir without one holds nothing but itself.
    for (const { id, dir } of empty) if (UUID.test(id)) await this.removeDirs({ sandboxDir: dir, runDir: join(this.runDir, id) });
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
    const alive = vmmPid !== undefined && (await this.deps.hypervisor.isRunning(vmmPid, id));
    if (state.state === 'running' && alive) {
      this.entries.set(id, entry);
      await this.adopt(entry, vmmPid);
      return;
    }
    if (state.state === 'running') {
      // Its VMM died while nobody watched: it fails (and its policy decides), it is not silently booted again.
      this.entries.set(id, entry);
      const error = await this.vmmExitError(entry);
      await this.failAndRelease(entry, new RuntimeError(error.code, `${error.message.split('\n')[0]} while the node agent was not running`, { context: error.context }));
      return;
    }
    // Interrupted mid-create or mid-delete: release it all (a create is retried if still desired).
    this.log('info', 'cleaning up sandbox that cannot be re-adopted', { sandboxId: id, state: state.state, vmAlive: alive });
    try {
      await this.release(entry);
    } catch (error) {
      this.log('error', 'cleanup of a stale sandbox left something behind', { sandboxId: id, error: describeError(error) });
    }
  }

  /** Reconnects to a running sandbox's guest agent after a runtime restart; a guest that does not answer fails it. */
  private async adopt(entry: SandboxEntry, vmmPid: number): Promise<void> {
    const { state } = entry;
    const id = state.spec.id;
    const transport = transportFor(state);
    await transport.discardStaleOutput?.();
    const agent = this.deps.connectAgent(transport);
    entry.agent = agent;
    try {
      await agent.waitReady(this.deps.adoptTimeoutMs, () => this.deps.hypervisor.guestFailure(vmmPid, id, state.paths));
    } catch (cause) {
      const error = new RuntimeError(RuntimeErrorCode.AGENT_UNREACHABLE, `re-adopt: ${describeError(cause)}`, { cause, context: { sandboxId: id } });
      await this.failAndRelease(entry, error);
      return;
    }
    this.log('info', 're-adopted sandbox', { sandboxId: id, pid: vmmPid });
    if (state.network) {
      await this.deps.network
        ?.check(id)
        .catch((error: unknown) => this.log('warn', 'CNI CHECK of a re-adopted sandbox failed', { sandboxId: id, error: describeError(error) }));
    }
  }
}
