import { randomUUID } from 'node:crypto';
import { INIT_EXEC_ID, type LinuxResources } from '@moat/proto';
import type { ContainerStats, ExecOutput } from '../agent/agent.types';
import { ProcessSession, type SessionOptions } from '../agent/process-session';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { resolveAccel, type Accel } from '../host/host-info';
import { nicTrafficBytes } from '../network/nic-traffic';
import type { TenantPeers } from '../network/tenants/tenant-networks';
import type { PlannedAddress } from '../network/network.types';
import { ContainerFiles } from './files/container-files';
import { checkWithinVm, envList, GUEST_OVERHEAD_MIB } from './model/oci-spec';
import type { LogReader } from './logs/log-ring';
import { DEFAULT_RUN_DIR, resolveDeps, type RuntimeDeps } from './runtime.deps';
import { rootfsKindOf, UUID, validateSpec } from './model/sandbox-spec';
import { infoOf, type SandboxEntry } from './model/sandbox.entry';
import { DEFAULT_MEMORY_DIR, newSandboxState, sandboxPaths, SandboxStateStore } from './model/sandbox.state';
import type { ExecOptions, PodContainerSpec, PoolShape, RuntimeOptions, SandboxInfo, SandboxSpec } from './model/sandbox.types';
import { removeSandboxDirs, SandboxLifecycle } from './sandbox.lifecycle';
import { SandboxRecovery } from './sandbox.recovery';
import { SandboxHibernation } from './hibernation';
import { SandboxForks } from './forks';
import { SandboxMoves } from './moves';
import { SandboxLiveMigration } from './live-migration';
import { SandboxAccess } from './sandbox.access';
import { SandboxWatchdog } from './sandbox.watchdog';
import { PodContainers } from './pod/pod-containers';
import { handOver, openWarmPool } from './warm-pool/pooled-vms';
import type { WarmPool } from './warm-pool/warm-pool';

export type { RuntimeDeps } from './runtime.deps';

/**
 * Runs sandbox VMs on this host and keeps their state on disk, so a restarted node agent can
 * pick up the VMs it left running. A start is a list of steps (rootfs, shared fs, network, VMM,
 * agent, guest sandbox, container) that `SandboxLifecycle` runs; a failed start, a delete and a
 * crash recovery all release that same list in reverse.
 */
export class SandboxRuntime {
  private readonly entries = new Map<string, SandboxEntry>();
  private readonly runDir: string;
  private readonly memoryDir: string;
  private readonly lifecycle: SandboxLifecycle;
  private readonly recovery: SandboxRecovery;
  private readonly hibernation: SandboxHibernation;
  private readonly forks: SandboxForks;
  /** Hibernated sandboxes moved between nodes: their files out, taken in on the other node (see sandbox/moves). */
  readonly moves: SandboxMoves;
  /** Running sandboxes live-migrated between nodes (see sandbox/live-migration). */
  readonly liveMigration: SandboxLiveMigration;
  private readonly watchdog: SandboxWatchdog;
  private readonly pods: PodContainers;
  private readonly access: SandboxAccess;
  private pool: WarmPool<SandboxEntry> | undefined;

  private constructor(
    private readonly opts: RuntimeOptions,
    private readonly accel: Accel,
    private readonly deps: RuntimeDeps,
  ) {
    const store = new SandboxStateStore(opts.dataDir);
    this.runDir = opts.runDir ?? DEFAULT_RUN_DIR;
    this.memoryDir = opts.memoryDir ?? DEFAULT_MEMORY_DIR;
    const log = opts.log ?? (() => undefined);
    this.forks = new SandboxForks(this.entries, deps.hypervisor, deps.isolation, opts.dataDir, log);
    this.lifecycle = new SandboxLifecycle(opts, deps, store, this.forks, log);
    this.hibernation = new SandboxHibernation(deps.hypervisor, deps.isolation, this.lifecycle, log);
    this.recovery = new SandboxRecovery(this.entries, store, this.runDir, deps, this.lifecycle, this.hibernation, log);
    this.watchdog = new SandboxWatchdog(this.entries, deps, this.lifecycle, log);
    this.pods = new PodContainers(deps.rootfs, store, log);
    this.access = new SandboxAccess(this.entries, this.pods, this.lifecycle);
    const fresh = (vmId = randomUUID()) => ({ accel, vmId, paths: sandboxPaths(opts.dataDir, this.runDir, vmId, this.memoryDir) });
    this.moves = new SandboxMoves(this.entries, this.access, this.lifecycle, this.lifecycle.arrival.saved, fresh, log);
    this.liveMigration = new SandboxLiveMigration(this.entries, this.access, deps.hypervisor, deps.isolation, this.lifecycle, this.lifecycle.arrival.live, fresh, log);
  }

  /** Loads on-disk state, re-adopts sandboxes whose VMM is still alive, and cleans up the rest. */
  static async open(opts: RuntimeOptions, deps: Partial<RuntimeDeps> = {}): Promise<SandboxRuntime> {
    const runtime = new SandboxRuntime(opts, await resolveAccel(opts.accel), await resolveDeps(opts, deps));
    await runtime.recovery.recover();
    await runtime.forks.clear();
    runtime.pool = openWarmPool(
      { ...opts, runDir: runtime.runDir, memoryDir: runtime.memoryDir, accel: runtime.accel },
      { lifecycle: runtime.lifecycle, hypervisor: runtime.deps.hypervisor, snapshots: runtime.deps.snapshots },
    );
    return runtime;
  }

  /** The warm pool's VMs waiting now per shape, against its target; empty without a pool (none asked for, or boot snapshots off). */
  warmPool(): { shape: PoolShape; waiting: number; target: number }[] {
    return this.pool?.counts() ?? [];
  }

  /** Resolves once the warm pool holds its every VM (benchmarks and tests wait for it). */
  warmPoolFull(): Promise<void> {
    return this.pool?.full() ?? Promise.resolve();
  }

  /** Resolves once no boot snapshot is being saved (benchmarks and tests wait for one). */
  snapshotsIdle(): Promise<void> {
    return this.deps.snapshots?.idle() ?? Promise.resolve();
  }

  /**
   * What each sandbox may cost this host beyond its memoryMiB: the guest's own overhead (the
   * guest is given memoryMiB + GUEST_OVERHEAD_MIB) and its VMM's memory under this host's
   * accelerator; together the VM's cgroup limit. The scheduler reserves exactly that.
   */
  sandboxOverheadMiB(): number {
    return GUEST_OVERHEAD_MIB + this.deps.hypervisor.memoryOverheadMiB(this.accel);
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

    const sharedFsKind = rootfsKindOf(spec, this.opts.sharedFs);
    // Pool VMs take their share plugged in while they run, which only virtio-fs allows; a pod's
    // share must be a shared mount before its daemon starts.
    const pooled = sharedFsKind === 'virtiofs' && !spec.pod && !spec.forkOf ? this.pool?.take(spec) : undefined;
    const fresh = {
      accel: this.accel,
      transport: this.deps.agentTransport ?? 'virtio-serial',
      sharedFsKind,
      paths: sandboxPaths(this.opts.dataDir, this.runDir, spec.id, this.memoryDir),
    };
    // A clone is its source's guest, copied (see sandbox/forks).
    const state = spec.forkOf ? this.forks.cloneState(spec, fresh) : newSandboxState(spec, fresh);
    const entry: SandboxEntry = pooled ? { ...handOver(pooled, spec), onUpdate } : { phase: 'creating', onUpdate, state };
    this.entries.set(spec.id, entry);
    const { forkOf } = spec;
    entry.creating = this.lifecycle.start(entry).finally(async () => {
      entry.creating = undefined;
      if (forkOf) await this.forks.done(forkOf);
    });
    return entry.creating;
  }

  async exec(id: string, opts: ExecOptions): Promise<ExecOutput> {
    const { entry, agent, container } = this.access.running(id);
    if (opts.command.length === 0) throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, 'exec needs a command');
    return this.access.guard(entry, () =>
      agent.exec({
        containerId: container,
        execId: `exec-${randomUUID()}`,
        args: opts.command,
        env: envList(entry.state.process?.env ?? {}, entry.state.spec.env, opts.env ?? {}),
        cwd: opts.cwd ?? entry.state.process?.cwd ?? '/',
        stdin: opts.stdin,
        timeoutMs: opts.timeoutMs,
        tty: opts.tty,
      }),
    );
  }

  /**
   * Starts an interactive process (e.g. a shell on a TTY) whose I/O the caller streams; a guest
   * that breaks the protocol during the session fails the sandbox like a batch exec does.
   */
  async openSession(id: string, opts: SessionOptions, containerId = id): Promise<ProcessSession> {
    const { entry, agent, container } = this.access.running(id, containerId);
    return ProcessSession.start(agent, { ...opts, env: envList(entry.state.spec.env, opts.env ?? {}) }, container, (error) => {
      void this.access.failIfProtocolViolation(entry, error);
    });
  }

  /**
   * The bytes the running sandbox's NIC has moved both ways so far (read-only, no process
   * forked; see nicTrafficBytes), or undefined when it is not running or has no NIC on a tenant
   * bridge. The count starts again from 0 whenever its network is plumbed anew (a wake).
   */
  trafficBytes(id: string): Promise<number | undefined> {
    const entry = this.entries.get(id);
    return entry?.phase === 'running' ? nicTrafficBytes(entry.state.network) : Promise.resolve(undefined);
  }

  /** The container's live resource use (cgroup v2 counters in the guest); `containerId`: one a pod added. */
  async stats(id: string, containerId = id): Promise<ContainerStats> {
    const { entry, agent, container } = this.access.running(id, containerId);
    return this.access.guard(entry, () => agent.stats(container));
  }

  /** New CPU, memory and pids limits for the container, within its VM's size (fixed at its start). */
  async updateResources(id: string, resources: LinuxResources, containerId = id): Promise<void> {
    const { entry, agent, container } = this.access.running(id, containerId);
    checkWithinVm(entry.state.spec, resources);
    await this.access.guard(entry, () => agent.updateContainer(container, resources));
  }

  /** The container's processes, by their pids in the guest. */
  async processes(id: string, containerId = id): Promise<number[]> {
    const { entry, agent, container } = this.access.running(id, containerId);
    return this.access.guard(entry, () => agent.listProcesses(container));
  }

  /** The container's files (stat, list, read, write), through its guest agent. */
  files(id: string): ContainerFiles {
    const { entry, agent, container } = this.access.running(id);
    return new ContainerFiles(agent.files, container, (error) => this.access.failIfProtocolViolation(entry, error));
  }

  /**
   * The main process's output on this node, from the container's start (or the node agent's
   * last restart) until the sandbox is deleted here, a failed sandbox's included.
   */
  logs(id: string): LogReader {
    const entry = this.access.known(id);
    if (!entry.logs) {
      throw new RuntimeError(RuntimeErrorCode.SANDBOX_NOT_RUNNING, `sandbox ${id} is ${entry.phase}; this node holds no output of its process`, { context: { sandboxId: id } });
    }
    return entry.logs;
  }

  /**
   * Starts the container's init of a sandbox created with `deferStart`, or of a container a pod
   * added; {@link initSession} gives its I/O.
   */
  async startContainer(id: string, containerId = id): Promise<void> {
    const { entry, agent } = this.access.running(id, containerId);
    await this.access.guard(entry, () => (containerId === id ? this.lifecycle.startInit(entry, agent) : this.pods.start(entry, agent, containerId)));
  }

  /**
   * The I/O, signals and end of a `deferStart` sandbox's init, or of a pod's added container's
   * (whose output, unlike other sandboxes', is not kept in {@link logs}: the session's reader takes it).
   */
  initSession(id: string, containerId = id): ProcessSession {
    const { entry, agent, container } = this.access.running(id, containerId);
    const waiting = containerId === id ? !entry.state.spec.deferStart || entry.state.initWaiting : this.pods.get(entry, containerId).initWaiting;
    if (waiting) {
      throw new RuntimeError(RuntimeErrorCode.CONTAINER_WRONG_STATE, `container ${containerId}'s init is not a started deferStart one`, { context: { sandboxId: id } });
    }
    return ProcessSession.attach(agent, container, INIT_EXEC_ID, (error) => {
      void this.access.failIfProtocolViolation(entry, error);
    });
  }

  /**
   * Adds a container to a pod's running VM (`spec.pod`): its bundle's rootfs and process, its
   * init waiting for {@link startContainer}; it shares the VM's kernel and network.
   */
  async addContainer(id: string, spec: PodContainerSpec): Promise<void> {
    const { entry, agent } = this.access.running(id);
    await this.access.guard(entry, () => this.pods.add(entry, agent, spec));
  }

  /** Stops and removes a container a pod added, and its rootfs; idempotent. */
  async removeContainer(id: string, containerId: string): Promise<void> {
    const { entry, agent } = this.access.running(id);
    await this.access.guard(entry, () => this.pods.remove(entry, agent, containerId));
  }

  /**
   * Saves the running sandbox's VM and releases it and its network (see sandbox/hibernation);
   * HIBERNATE_UNSUPPORTED or HIBERNATE_FAILED leave it running.
   */
  async hibernate(id: string): Promise<SandboxInfo> {
    const entry = this.access.known(id);
    await this.hibernation.hibernate(entry);
    return infoOf(entry);
  }

  /**
   * Runs a hibernated sandbox again from its saved state, every process where it was; with
   * `planned`, on that address (the control plane's plan). A failed wake fails the sandbox.
   */
  async wake(id: string, planned?: PlannedAddress): Promise<SandboxInfo> {
    const entry = this.access.known(id);
    await this.hibernation.wake(entry, planned);
    return infoOf(entry);
  }

  /** Freezes (`paused: true`) or thaws every process of the sandbox's container (cgroup v2 freezer). */
  async setPaused(id: string, paused: boolean, containerId = id): Promise<void> {
    const { agent, container } = this.access.running(id, containerId);
    if (paused) await agent.pauseContainer(container);
    else await agent.resumeContainer(container);
  }

  /** Removes the container, stops the VM and shared-fs daemon, and deletes every file; idempotent. */
  async delete(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) {
      // Nothing known, but a crash could have left dirs named by a well-formed id.
      if (UUID.test(id)) await removeSandboxDirs(sandboxPaths(this.opts.dataDir, this.runDir, id, this.memoryDir));
      return;
    }
    if (entry.creating) await entry.creating;
    entry.deleting ??= this.lifecycle.stop(entry).finally(() => {
      entry.deleting = undefined;
    });
    await entry.deleting;
    this.entries.delete(id);
  }

  /** Where each planned tenant network reaches beyond this node: see `SandboxNetworks.setOverlayPeers`. */
  async setOverlayPeers(underlayAddress: string | undefined, tenants: readonly TenantPeers[]): Promise<void> {
    await this.deps.network?.setOverlayPeers(underlayAddress, tenants);
  }

  /**
   * Abandons every start in progress (a node agent stopping its sandboxes on exit): each stops at
   * its next step, releases what it acquired and ends `failed` with START_CANCELLED.
   */
  cancelStarts(): void {
    for (const entry of this.entries.values()) if (entry.creating) entry.cancelled = true;
  }

  /** Drains the warm pool, disconnects from the guest agents (the VMs keep running for the next `open`) and stops saving snapshots. */
  async close(): Promise<void> {
    // Pool VMs are never re-adopted: they go now rather than be found and released by the next
    // runtime. Snapshots close meanwhile, so a refill waiting for one to be saved ends at once.
    const draining = this.pool?.drain();
    await this.deps.snapshots?.close();
    await draining;
    this.watchdog.stop();
    await Promise.all([...this.entries.values()].map((entry) => entry.logPump?.stop() ?? Promise.resolve()));
    for (const entry of this.entries.values()) entry.agent?.close();
    this.entries.clear();
  }
}
