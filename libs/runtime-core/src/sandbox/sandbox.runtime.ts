import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentClient, isProtocolViolation, type AgentApi } from '../agent/agent.client';
import { ProcessSession, type SessionOptions } from '../agent/process-session';
import {
  chooseAgentTransport,
  createAgentTransport,
  type AgentTransport,
  type AgentTransportKind,
} from '../agent/transport/agent-transport';
import { guestCidFor } from '../agent/transport/vsock.dialer';
import { describeError, RuntimeError, RuntimeErrorCode } from '../errors';
import { readTail, removeTree } from '../host/fs.helpers';
import { kvmUsable, onTmpfs, resolveAccel, vhostVsockUsable } from '../host/host-info';
import { NodeProcessAdapter } from '../host/process.adapter';
import { createHypervisor, type Accel, type BootSnapshotFiles, type Hypervisor } from '../hypervisor/hypervisor';
import { ImageStore } from '../image/image.store';
import { ProcessOverlayMarkers } from '../image/layer.unpacker';
import { RegistryClient } from '../image/registry.client';
import { configureGuestNetwork } from '../network/guest-network';
import { SandboxNetworks } from '../network/sandbox-networks';
import { BusyboxRootfs } from '../rootfs/busybox.rootfs';
import { OverlayMount } from '../rootfs/overlay.mount';
import { SandboxRootfs, type RootfsProvider } from '../rootfs/sandbox.rootfs';
import { BlockRootfs } from '../sharefs/block.share-fs';
import { SHARED_FS_KINDS, type SharedFs, type SharedFsHandle, type SharedFsKind } from '../sharefs/shared-fs';
import { BootSnapshots, type VmShape } from '../snapshot/boot-snapshots';
import { Virtio9pSharedFs } from '../sharefs/virtio-9p.share-fs';
import { VirtioFsSharedFs } from '../sharefs/virtio-fs.share-fs';
import { buildContainerSpec, envList, GUEST_OVERHEAD_MIB } from './oci-spec';
import { DEFAULT_MEMORY_DIR, sandboxPaths, SandboxStateStore, type SandboxState } from './sandbox.state';
import type { ContainerStats, ExecOptions, ExecOutput, RuntimeOptions, SandboxInfo, SandboxSpec } from './sandbox.types';
import { timePhase, type StartPhase } from './timings';

/** The host pieces a runtime drives; replaced by fakes in unit tests. */
export interface RuntimeDeps {
  hypervisor: Hypervisor;
  sharedFs: (kind: SharedFsKind) => SharedFs;
  rootfs: RootfsProvider;
  connectAgent: (transport: AgentTransport) => AgentApi;
  /** How new sandboxes reach their agent; default: the best the host offers ({@link chooseAgentTransport}). */
  agentTransport?: AgentTransportKind;
  /** How long a booting VM has to answer Health.Check; TCG boots are slow. */
  bootTimeoutMs: number;
  /** How long a re-adopted sandbox's agent has to answer after a runtime restart. */
  adoptTimeoutMs: number;
  /** Plumbs sandbox networks; absent when the runtime has no network options. */
  network?: Pick<SandboxNetworks, 'attach' | 'detach' | 'check'>;
  /** Boot snapshots to restore VMs from; absent when they are off or the host cannot use them. */
  snapshots?: Pick<BootSnapshots, 'find' | 'request' | 'discard' | 'idle' | 'close'>;
}

const DEFAULT_RUN_DIR = '/run/moat';
const CONSOLE_TAIL_BYTES = 2048;
/** Seconds the container's init gets between SIGTERM and SIGKILL on delete. */
const CONTAINER_STOP_SECONDS = 2;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DEFAULT_IMAGE_CACHE_BYTES = 10 * 1024 ** 3;
const DEFAULT_TENANT = 'default';
/** Boot snapshots kept per node (a few hundred MB of sparse RAM on disk each). */
const MAX_BOOT_SNAPSHOTS = 4;
const SNAPSHOT_RETRY_AFTER_MS = 10 * 60_000;

/** Pull progress is reported at most this often (and once more when it completes). */
const PROGRESS_INTERVAL_MS = 500;

function defaultDeps(opts: RuntimeOptions): RuntimeDeps {
  const proc = new NodeProcessAdapter();
  const images = new ImageStore({
    dataDir: opts.dataDir,
    registry: new RegistryClient({ insecureRegistries: opts.images?.insecureRegistries, credentials: opts.images?.credentials }),
    markers: new ProcessOverlayMarkers(proc),
    maxCacheBytes: opts.images?.maxCacheBytes ?? DEFAULT_IMAGE_CACHE_BYTES,
    log: opts.log,
  });
  const sharedFs = (kind: SharedFsKind): SharedFs => {
    switch (kind) {
      case 'virtiofs':
        return new VirtioFsSharedFs(proc);
      case '9p':
        return new Virtio9pSharedFs();
      case 'block':
        return new BlockRootfs(proc);
    }
  };
  return {
    hypervisor: createHypervisor('qemu', proc),
    sharedFs,
    rootfs: new SandboxRootfs(new BusyboxRootfs(proc), images, new OverlayMount(proc)),
    connectAgent: (transport) => new AgentClient(transport),
    bootTimeoutMs: 60_000,
    adoptTimeoutMs: 15_000,
  };
}

interface Entry {
  state: SandboxState;
  phase: SandboxInfo['state'];
  error?: { code: string; message: string };
  progress?: SandboxInfo['progress'];
  agent?: AgentApi;
  creating?: Promise<SandboxInfo>;
  deleting?: Promise<void>;
  onUpdate?: (info: SandboxInfo) => void;
}

/**
 * Runs sandbox VMs on this host and keeps their state on disk, so a restarted node agent can
 * pick up the VMs it left running.
 */
export class SandboxRuntime {
  private readonly entries = new Map<string, Entry>();
  private readonly store: SandboxStateStore;
  private readonly runDir: string;
  private readonly memoryDir: string;
  private readonly log: NonNullable<RuntimeOptions['log']>;

  private constructor(
    private readonly opts: RuntimeOptions,
    private readonly accel: Accel,
    private readonly deps: RuntimeDeps,
  ) {
    this.store = new SandboxStateStore(opts.dataDir);
    this.runDir = opts.runDir ?? DEFAULT_RUN_DIR;
    this.memoryDir = opts.memoryDir ?? DEFAULT_MEMORY_DIR;
    this.log = opts.log ?? (() => undefined);
  }

  /** Loads on-disk state, re-adopts sandboxes whose VMM is still alive, and cleans up the rest. */
  static async open(opts: RuntimeOptions, deps: Partial<RuntimeDeps> = {}): Promise<SandboxRuntime> {
    if (opts.accel === 'kvm' && !(await kvmUsable())) {
      throw new RuntimeError(RuntimeErrorCode.HOST_UNSUPPORTED, 'accel kvm requested but /dev/kvm cannot be opened read-write');
    }
    const network = opts.network && SandboxNetworks.create(opts.network);
    const agentTransport = deps.agentTransport ?? chooseAgentTransport({ hypervisor: 'qemu', vhostVsock: await vhostVsockUsable() });
    const defaults = defaultDeps(opts);
    const hypervisor = deps.hypervisor ?? defaults.hypervisor;
    const snapshots = deps.snapshots ?? (await openBootSnapshots(opts, agentTransport, hypervisor));
    const runtime = new SandboxRuntime(opts, await resolveAccel(opts.accel), {
      ...defaults,
      ...(network && { network }),
      ...(snapshots && { snapshots }),
      ...deps,
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
    return [...this.entries.values()].map((entry) => this.info(entry));
  }

  get(id: string): SandboxInfo | undefined {
    const entry = this.entries.get(id);
    return entry && this.info(entry);
  }

  /**
   * Starts a sandbox and resolves once it is running or has failed; a VM failure does not
   * throw but resolves `failed` with the reason, after releasing everything. Calling it again
   * for a known id returns that sandbox (awaiting an in-flight start).
   */
  async create(spec: SandboxSpec, onUpdate?: (info: SandboxInfo) => void): Promise<SandboxInfo> {
    validateSpec(spec);
    const existing = this.entries.get(spec.id);
    if (existing) return existing.creating ?? this.info(existing);

    const sharedFsKind = spec.rootfs ?? this.opts.sharedFs ?? 'virtiofs';
    const entry: Entry = {
      phase: 'creating',
      onUpdate,
      state: {
        version: 1,
        spec: structuredClone(spec),
        state: 'creating',
        accel: this.accel,
        transport: this.deps.agentTransport ?? 'virtio-serial',
        sharedFsKind,
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
  private async failIfProtocolViolation(entry: Entry, error: unknown): Promise<void> {
    if (isProtocolViolation(error)) await this.failAndRelease(entry, error);
  }

  private running(id: string): { entry: Entry; agent: AgentApi } {
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

  /** Disconnects from the guest agents (the VMs keep running for the next `open`) and stops saving snapshots. */
  async close(): Promise<void> {
    for (const entry of this.entries.values()) entry.agent?.close();
    this.entries.clear();
    await this.deps.snapshots?.close();
  }

  private info(entry: Entry): SandboxInfo {
    const { state } = entry;
    return {
      id: state.spec.id,
      state: entry.phase,
      timings: state.timings.map((t) => ({ ...t })),
      ...(entry.error && { error: { ...entry.error } }),
      ...(entry.progress && { progress: { ...entry.progress } }),
      rootfs: state.sharedFsKind,
      ...(state.guest && { guest: { ...state.guest } }),
      accel: state.accel,
      transport: state.transport,
      ...(state.network?.guest && { network: { ip: state.network.guest.addresses[0].address, ports: state.network.ports } }),
    };
  }

  private notify(entry: Entry): void {
    try {
      entry.onUpdate?.(this.info(entry));
    } catch (error) {
      this.log('warn', 'sandbox update callback threw', { sandboxId: entry.state.spec.id, error: describeError(error) });
    }
  }

  private async start(entry: Entry): Promise<SandboxInfo> {
    const { state } = entry;
    const { spec, paths } = state;
    const id = spec.id;
    const save = () => this.store.save(state);
    const phase = async <T>(name: StartPhase, fn: () => Promise<T>): Promise<T> => {
      const result = await timePhase(state.timings, name, fn);
      this.notify(entry);
      return result;
    };
    let current: StartPhase = 'rootfs';
    const sharedFs = this.deps.sharedFs(state.sharedFsKind);
    this.log('info', 'creating sandbox', { sandboxId: id, accel: state.accel, sharedFs: state.sharedFsKind });
    try {
      await phase('rootfs', async () => {
        await mkdir(paths.runDir, { recursive: true, mode: 0o700 });
        // Persist before acquiring anything, so a crash from here on is cleaned up by `open`.
        await save();
        let reported = 0;
        const prepared = await this.deps.rootfs.prepare({
          sandboxId: id,
          image: spec.image,
          command: spec.command,
          rootfsDir: paths.rootfsDir,
          scratchDir: paths.sandboxDir,
          onProgress: ({ bytesDone, bytesTotal }) => {
            entry.progress = { phase: 'pull', bytesDone, bytesTotal };
            if (bytesDone < bytesTotal && Date.now() - reported < PROGRESS_INTERVAL_MS) return;
            reported = Date.now();
            this.notify(entry);
          },
        });
        entry.progress = undefined;
        state.process = prepared.process;
        if (prepared.manifestDigest) state.manifestDigest = prepared.manifestDigest;
      });

      current = 'sharefs';
      const shared = await phase('sharefs', async () => {
        state.sharedFs = await sharedFs.start({
          sandboxId: id,
          sharedDir: paths.sharedDir,
          runDir: paths.runDir,
          logDir: paths.sandboxDir,
          rootfsDir: paths.rootfsDir,
          diskDir: paths.sandboxDir,
        });
        await save();
        return state.sharedFs;
      });

      current = 'network';
      const networkSpec = spec.network;
      if (networkSpec) {
        await phase('network', async () => {
          const networks = this.networks();
          state.network = await networks.attach(id, spec.tenantId ?? DEFAULT_TENANT, networkSpec, paths.runDir, (progress) => {
            state.network = progress;
            return save();
          });
        });
      }

      current = 'vmm';
      const shape = this.snapshotShape(state);
      const snapshot = shape && (await this.deps.snapshots?.find(shape));
      let pid = snapshot && (await this.restoreVm(entry, shared, snapshot, phase));
      pid ??= await phase('vmm', () => this.startVm(state, shared));

      current = 'agent';
      const agent = this.deps.connectAgent(createAgentTransport(state.transport, transportPaths(state)));
      entry.agent = agent;
      await phase('agent', async () => {
        await agent.waitReady(this.deps.bootTimeoutMs, () => this.deps.hypervisor.guestFailure(pid, id, paths));
        // A restored guest's clock stopped when its snapshot was saved.
        if (state.restored) await agent.setGuestDateTime();
        state.guest = await agent.guestDetails();
      });

      current = 'sandbox';
      await phase('sandbox', async () => {
        const guestNet = state.network?.guest;
        if (guestNet) await configureGuestNetwork(agent, guestNet);
        await agent.createSandbox({ sandboxId: id, hostname: hostnameOf(id), dns: guestNet?.dns ?? [], storages: [sharedFs.guestStorage()] });
        state.sandboxCreated = true;
      });

      current = 'container';
      await phase('container', async () => {
        const { process } = state;
        const ociSpec = buildContainerSpec({
          sandboxId: id,
          hostname: hostnameOf(id),
          env: { ...process?.env, ...spec.env },
          command: process?.args ?? spec.command,
          cwd: process?.cwd,
          user: process?.user,
          vcpus: spec.vcpus,
          memoryMiB: spec.memoryMiB,
        });
        await agent.createContainer({ containerId: id, ociSpecJson: JSON.stringify(ociSpec), storages: [] });
        state.containerCreated = true;
        await agent.startContainer(id);
      });

      state.state = 'running';
      entry.phase = 'running';
      await save();
      // A shape that boots fine gets a snapshot, so its next sandboxes are restored instead.
      if (shape && !state.restored) void this.deps.snapshots?.request(shape);
      this.log('info', 'sandbox running', { sandboxId: id, timings: state.timings });
      this.notify(entry);
    } catch (error) {
      await this.failAndRelease(entry, await this.phaseError(current, entry, error));
    }
    return this.info(entry);
  }

  private async startVm(state: SandboxState, shared: SharedFsHandle, restoreFrom?: BootSnapshotFiles): Promise<number> {
    const { spec, paths } = state;
    const image = this.opts.guestImage;
    const vmmPid = await this.deps.hypervisor.start({
      sandboxId: spec.id,
      accel: state.accel,
      vcpus: spec.vcpus,
      memoryMiB: guestMemoryMiB(spec),
      kernel: image.kernel,
      initrd: image.initrd,
      rootfsImage: image.rootfs,
      sharedFs: shared.attachment,
      ...(state.network?.nic && { network: state.network.nic }),
      paths,
      ...(state.transport === 'vsock' && { vsockGuestCid: guestCidFor(spec.id) }),
      ...(restoreFrom && { restoreFrom }),
    });
    state.vmmPid = vmmPid;
    state.restored = restoreFrom !== undefined;
    await this.store.save(state);
    return vmmPid;
  }

  /**
   * Restores the VM from its boot snapshot. When that fails undefined is returned and the caller
   * boots cold; a snapshot that does not load (QEMU upgraded, file damaged) is discarded first, so
   * a new one is saved, while one that could not be copied (tmpfs full) is kept.
   */
  private async restoreVm(
    entry: Entry,
    shared: SharedFsHandle,
    snapshot: BootSnapshotFiles,
    phase: <T>(name: StartPhase, fn: () => Promise<T>) => Promise<T>,
  ): Promise<number | undefined> {
    try {
      return await phase('restore', () => this.startVm(entry.state, shared, snapshot));
    } catch (error) {
      if (!(error instanceof RuntimeError && error.code === RuntimeErrorCode.SNAPSHOT_FAILED)) throw error;
      this.log('warn', 'restoring a boot snapshot failed; booting cold', { sandboxId: entry.state.spec.id, error: describeError(error) });
      if (error.context.snapshotIntact !== true) await this.deps.snapshots?.discard(snapshot);
      return undefined;
    }
  }

  /** What a boot snapshot of this sandbox's VM fixes, or undefined if its VM cannot be restored from one. */
  private snapshotShape(state: SandboxState): VmShape | undefined {
    // Only runtimes whose transport allows snapshots have a store (see openBootSnapshots).
    if (!this.deps.snapshots) return undefined;
    const image = this.opts.guestImage;
    return {
      accel: state.accel,
      vcpus: state.spec.vcpus,
      memoryMiB: guestMemoryMiB(state.spec),
      kernel: image.kernel,
      initrd: image.initrd,
      rootfsImage: image.rootfs,
      ninep: state.sharedFsKind === '9p',
    };
  }

  /** Names the failed phase and, for boot failures, adds what the guest printed. */
  private async phaseError(phase: StartPhase, entry: Entry, error: unknown): Promise<RuntimeError> {
    const code = error instanceof RuntimeError ? error.code : PHASE_FALLBACK_CODE[phase];
    let message = `${phase}: ${describeError(error)}`;
    if (code === RuntimeErrorCode.VM_BOOT_FAILED || code === RuntimeErrorCode.VMM_START_FAILED) {
      const tail = (await readTail(entry.state.paths.consoleLog, CONSOLE_TAIL_BYTES)).trim();
      if (tail && !message.includes(tail)) message += `\n--- console (last ${CONSOLE_TAIL_BYTES} bytes) ---\n${tail}`;
    }
    return new RuntimeError(code, message, { cause: error, context: { sandboxId: entry.state.spec.id, phase } });
  }

  private async failAndRelease(entry: Entry, error: RuntimeError): Promise<void> {
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

  private async stop(entry: Entry): Promise<void> {
    if (entry.phase !== 'failed') {
      entry.phase = 'stopping';
      entry.state.state = 'stopping';
      this.notify(entry);
      await this.store.save(entry.state).catch(() => undefined);
    }
    await this.release(entry);
  }

  /**
   * Undoes start in reverse, guided by what the state says was acquired. Every step runs even
   * if an earlier one fails; the first failure is rethrown at the end.
   */
  private async release(entry: Entry): Promise<void> {
    const { state } = entry;
    const id = state.spec.id;
    const failures: unknown[] = [];
    const step = async (name: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (error) {
        this.log('warn', `release step ${name} failed`, { sandboxId: id, error: describeError(error) });
        failures.push(error);
      }
    };
    const vmAlive = state.vmmPid !== undefined && (await this.deps.hypervisor.isRunning(state.vmmPid, id));
    const agent = entry.agent;
    // A graceful goodbye to the guest only makes sense while it runs; errors are expected from a broken guest.
    if (agent && vmAlive) {
      if (state.containerCreated) await agent.removeContainer(id, CONTAINER_STOP_SECONDS).catch(() => undefined);
      if (state.sandboxCreated) await agent.destroySandbox().catch(() => undefined);
    }
    agent?.close();
    entry.agent = undefined;
    const vmmPid = state.vmmPid;
    if (vmmPid !== undefined) await step('vmm', () => this.deps.hypervisor.stop(vmmPid, id, state.paths));
    const sharedFs = state.sharedFs;
    if (sharedFs) await step('sharefs', () => this.deps.sharedFs(sharedFs.kind).stop(sharedFs, id));
    const network = state.network;
    if (network) await step('network', () => this.networks().detach(id, network, state.paths.runDir));
    // Only with the rootfs unmounted may its directory be deleted.
    let rootfsReleased = false;
    await step('rootfs', async () => {
      await this.deps.rootfs.release(id, state.paths.rootfsDir);
      rootfsReleased = true;
    });
    if (rootfsReleased) await step('dirs', () => this.removeDirs(state.paths));
    if (failures.length > 0) {
      throw new RuntimeError(RuntimeErrorCode.PROCESS_FAILED, `release sandbox ${id}: ${describeError(failures[0])}`, { cause: failures[0] });
    }
    state.containerCreated = false;
    state.sandboxCreated = false;
    state.vmmPid = undefined;
    state.sharedFs = undefined;
    state.network = undefined;
  }

  private networks(): NonNullable<RuntimeDeps['network']> {
    if (!this.deps.network) throw new RuntimeError(RuntimeErrorCode.NETWORK_FAILED, 'this node has no network configuration');
    return this.deps.network;
  }

  private async removeDirs(paths: { runDir: string; sandboxDir: string }): Promise<void> {
    await removeTree(paths.runDir);
    await removeTree(paths.sandboxDir);
  }

  private async recover(): Promise<void> {
    const { states, unreadable } = await this.store.loadAll();
    for (const { dir, error } of unreadable) {
      // Without state we cannot tell which processes are its own; an operator must look.
      this.log('error', 'sandbox dir with unreadable state left in place', { dir, error: describeError(error) });
    }
    await Promise.all(states.map((state) => this.recoverOne(state)));
  }

  private async recoverOne(state: SandboxState): Promise<void> {
    const id = state.spec.id;
    const entry: Entry = { state, phase: state.state };
    const alive = state.vmmPid !== undefined && (await this.deps.hypervisor.isRunning(state.vmmPid, id));
    const vmmPid = state.vmmPid;
    if (state.state === 'running' && alive && vmmPid !== undefined) {
      const transport = createAgentTransport(state.transport, transportPaths(state));
      await transport.discardStaleOutput?.();
      const agent = this.deps.connectAgent(transport);
      entry.agent = agent;
      try {
        await agent.waitReady(this.deps.adoptTimeoutMs, () => this.deps.hypervisor.guestFailure(vmmPid, id, state.paths));
        this.entries.set(id, entry);
        this.log('info', 're-adopted sandbox', { sandboxId: id, pid: vmmPid });
        if (state.network) {
          await this.networks()
            .check(id)
            .catch((error: unknown) => this.log('warn', 'CNI CHECK of a re-adopted sandbox failed', { sandboxId: id, error: describeError(error) }));
        }
        return;
      } catch (cause) {
        const error = new RuntimeError(RuntimeErrorCode.AGENT_UNREACHABLE, `re-adopt: ${describeError(cause)}`, { cause, context: { sandboxId: id } });
        this.entries.set(id, entry);
        await this.failAndRelease(entry, error);
        return;
      }
    }
    // Interrupted mid-create or mid-delete, or its VM died while we were away: release it all.
    this.log('info', 'cleaning up sandbox that cannot be re-adopted', { sandboxId: id, state: state.state, vmAlive: alive });
    try {
      await this.release(entry);
    } catch (error) {
      this.log('error', 'cleanup of a stale sandbox left something behind', { sandboxId: id, error: describeError(error) });
    }
  }
}

const PHASE_FALLBACK_CODE: Record<StartPhase, RuntimeErrorCode> = {
  rootfs: RuntimeErrorCode.ROOTFS_FAILED,
  sharefs: RuntimeErrorCode.SHAREFS_FAILED,
  network: RuntimeErrorCode.NETWORK_FAILED,
  vmm: RuntimeErrorCode.VMM_START_FAILED,
  restore: RuntimeErrorCode.VMM_START_FAILED,
  agent: RuntimeErrorCode.VM_BOOT_FAILED,
  sandbox: RuntimeErrorCode.AGENT_CALL_FAILED,
  container: RuntimeErrorCode.AGENT_CALL_FAILED,
};

/** Boot snapshots, when asked for (the default) and usable on this host: guest RAM must go to tmpfs. */
async function openBootSnapshots(opts: RuntimeOptions, transport: AgentTransportKind, hypervisor: Hypervisor): Promise<BootSnapshots | undefined> {
  // The vsock device's guest CID is part of a VM's identity; only virtio-serial clones are interchangeable.
  if (opts.bootSnapshots === false || transport !== 'virtio-serial') return undefined;
  const memoryDir = opts.memoryDir ?? DEFAULT_MEMORY_DIR;
  if (!(await onTmpfs(memoryDir))) {
    opts.log?.('warn', 'boot snapshots are off: guest memory dir is not on tmpfs', { memoryDir });
    return undefined;
  }
  const snapshots = new BootSnapshots({
    dir: join(opts.dataDir, 'boot-snapshots'),
    runDir: opts.runDir ?? DEFAULT_RUN_DIR,
    memoryDir,
    maxSnapshots: MAX_BOOT_SNAPSHOTS,
    retryAfterMs: SNAPSHOT_RETRY_AFTER_MS,
    hypervisor,
    log: opts.log ?? (() => undefined),
  });
  await snapshots.recover();
  return snapshots;
}

/** The VM's RAM: what the sandbox asked for plus what the guest kernel and agent need. */
function guestMemoryMiB(spec: SandboxSpec): number {
  return spec.memoryMiB + GUEST_OVERHEAD_MIB;
}

/** The guest's hostname: the id's first group, short enough for a shell prompt, unique enough on a host. */
function hostnameOf(id: string): string {
  return id.slice(0, 8);
}

function validateSpec(spec: SandboxSpec): void {
  const problems: string[] = [];
  if (!UUID.test(spec.id)) problems.push('id must be a lowercase UUID');
  if (!Number.isInteger(spec.vcpus) || spec.vcpus < 1 || spec.vcpus > 64) problems.push('vcpus must be an integer in 1..64');
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < 64) problems.push('memoryMiB must be an integer >= 64');
  for (const key of Object.keys(spec.env)) if (!ENV_KEY.test(key)) problems.push(`env key ${JSON.stringify(key)} is not a valid name`);
  if (spec.command && spec.command.length === 0) problems.push('command must not be empty when given');
  if (spec.image !== undefined && (spec.image.length === 0 || spec.image.length > 1024)) problems.push('image must be 1-1024 characters');
  if (spec.rootfs !== undefined && !SHARED_FS_KINDS.includes(spec.rootfs)) problems.push(`rootfs must be one of ${SHARED_FS_KINDS.join(', ')}`);
  if (problems.length > 0) {
    throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `invalid sandbox spec: ${problems.join('; ')}`, { context: { sandboxId: spec.id } });
  }
}

/** Where a sandbox's transport finds its guest: the proxy socket beside QEMU's, and its vsock CID. */
function transportPaths(state: SandboxState) {
  return {
    agentSocket: state.paths.agentSocket,
    proxySocket: `${state.paths.runDir}/agent-proxy.sock`,
    guestCid: guestCidFor(state.spec.id),
  };
}
