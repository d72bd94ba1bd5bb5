import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_LISTED_PROCESSES, type CreateContainerRequest, type ExecProcessRequest, type LinuxResources, type SignalProcessRequest, type StatsContainerResponse } from '@moat/proto';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { FileRoot, FileRoots } from '../files/container-files';
import type { Logger } from '../log/logger';
import type { ContainerProcess } from '../process/container-process';
import { INIT_EXEC_ID, type ProcessTable } from '../process/process-table';
import { notYet } from '../process/stream-buffer';
import type { StorageMounter } from '../storage/storage.mounter';
import { CgroupReader, cgroupDirOf } from './cgroup.reader';
import { ContainerProcessRunner, type ContainerProcessOptions } from './container-process.runner';
import type { Container } from './container.types';
import type { Crun } from './crun.adapter';
import { crunSpec, parseOciSpec, validateId, withMounts, type OciMount } from './oci-spec';

export interface ContainerServiceOptions extends ContainerProcessOptions {
  /** Bundles live in `<containersDir>/<id>`. */
  containersDir: string;
}

const OOM_POLL_MS = 500;

/** Containers (crun bundles): their bundles, storages, state and resources; what runs in them is `ContainerProcessRunner`'s. */
export class ContainerService implements FileRoots {
  private readonly containers = new Map<string, Container>();
  private readonly runner: ContainerProcessRunner;

  constructor(
    private readonly crun: Crun,
    private readonly mounter: StorageMounter,
    private readonly processes: ProcessTable<ContainerProcess>,
    log: Logger,
    private readonly options: ContainerServiceOptions,
    /** Mounts every container gets from its sandbox (its hostname, hosts and resolv.conf files). */
    private readonly sandboxMounts: () => readonly OciMount[] = () => [],
  ) {
    this.runner = new ContainerProcessRunner(crun, processes, log, options);
  }

  /**
   * Writes the bundle, with the sandbox's mounts added to the spec, and mounts the container's
   * storages; crun runs it on StartContainer.
   */
  async create(request: CreateContainerRequest): Promise<void> {
    const id = validateId('container', request.containerId);
    const requested = parseOciSpec(request.ociSpecJson);
    const spec = crunSpec(withMounts(requested, this.sandboxMounts()));
    if (this.containers.has(id)) throw new AgentError(AgentErrorCode.CONTAINER_EXISTS, `container ${id} already exists`);

    const bundleDir = join(this.options.containersDir, id);
    const container: Container = { id, bundleDir, spec, initTerminal: requested.process.terminal === true, mountPoints: [], status: 'created', oomKillsReported: 0 };
    // Claimed before the first await so that a concurrent create of the same id fails.
    this.containers.set(id, container);
    try {
      await mkdir(bundleDir, { recursive: true });
      // The host's text goes to crun as it came when nothing was added.
      await writeFile(join(bundleDir, 'config.json'), spec === requested ? request.ociSpecJson : JSON.stringify(spec));
      container.mountPoints = await this.mounter.mountAll(request.storages);
    } catch (error) {
      this.containers.delete(id);
      await rm(bundleDir, { recursive: true, force: true });
      throw error;
    }
  }

  async start(containerId: string): Promise<void> {
    const container = this.get(containerId);
    if (container.status !== 'created') {
      throw new AgentError(AgentErrorCode.WRONG_STATE, `container ${containerId} is ${container.status}, not created`);
    }
    container.status = 'starting';
    let init: ContainerProcess;
    let pid: number;
    try {
      ({ init, pid } = await this.runner.runInit(container));
    } catch (error) {
      container.status = 'created';
      throw error;
    }
    const cgroupDir = await cgroupDirOf(pid);
    if (cgroupDir) container.cgroup = new CgroupReader(cgroupDir);
    container.status = 'running';
    this.runner.prepareExecs(container);
    void init.exited.then(() => {
      if (container.status === 'running') container.status = 'stopped';
    });
  }

  async exec(request: ExecProcessRequest): Promise<void> {
    const container = this.get(request.containerId);
    const execId = validateId('exec', request.execId);
    if (container.status !== 'running') {
      throw new AgentError(AgentErrorCode.WRONG_STATE, `container ${container.id} is ${container.status}, not running`);
    }
    await this.runner.exec(container, execId, request);
  }

  resize(containerId: string, execId: string, window: { rows: number; cols: number } | undefined): void {
    this.get(containerId);
    this.runner.resize(containerId, execId, window);
  }

  async pause(containerId: string): Promise<void> {
    const container = this.get(containerId);
    if (container.status !== 'running') {
      throw new AgentError(AgentErrorCode.WRONG_STATE, `container ${containerId} is ${container.status}, not running`);
    }
    await this.crun.pause(containerId);
    container.status = 'paused';
  }

  async resume(containerId: string): Promise<void> {
    const container = this.get(containerId);
    if (container.status !== 'paused') {
      throw new AgentError(AgentErrorCode.WRONG_STATE, `container ${containerId} is ${container.status}, not paused`);
    }
    await this.crun.resume(containerId);
    container.status = 'running';
  }

  /** Changes the CPU, memory and pids limits of a running container. */
  async update(containerId: string, resources: LinuxResources | undefined): Promise<void> {
    const container = this.get(containerId);
    if (container.status !== 'running' && container.status !== 'paused') {
      throw new AgentError(AgentErrorCode.WRONG_STATE, `container ${containerId} is ${container.status}, not running`);
    }
    const file = join(container.bundleDir, 'resources.json');
    await writeFile(file, JSON.stringify(ociResources(resources)));
    await this.crun.update(containerId, file);
  }

  async stats(containerId: string): Promise<StatsContainerResponse> {
    const container = this.get(containerId);
    if (!container.cgroup) {
      throw new AgentError(AgentErrorCode.WRONG_STATE, `container ${containerId} has no cgroup (it is ${container.status})`);
    }
    return container.cgroup.stats();
  }

  /** The container's processes by guest pid (its cgroup's members). */
  async listProcesses(containerId: string): Promise<number[]> {
    const container = this.get(containerId);
    if (!container.cgroup) {
      throw new AgentError(AgentErrorCode.WRONG_STATE, `container ${containerId} has no cgroup (it is ${container.status})`);
    }
    return container.cgroup.pids(MAX_LISTED_PROCESSES);
  }

  /** The init processes of the containers running (or paused) now, by their guest pids. */
  runningInitPids(): number[] {
    return [...this.containers.values()].flatMap((container) => {
      const pid = this.processes.find(container.id, INIT_EXEC_ID)?.pid;
      return (container.status === 'running' || container.status === 'paused') && pid !== undefined ? [pid] : [];
    });
  }

  /**
   * The container's files as its processes see them: through its init process's root while it
   * runs (its own mounts included), else its root filesystem.
   */
  fileRoot(containerId: string): FileRoot {
    const container = this.get(containerId);
    const pid = this.processes.find(containerId, INIT_EXEC_ID)?.pid;
    const running = (container.status === 'running' || container.status === 'paused') && pid !== undefined;
    const user = container.spec.process?.user;
    return {
      path: running ? `/proc/${pid}/root` : resolve(container.bundleDir, container.spec.root.path),
      owner: { uid: user?.uid ?? 0, gid: user?.gid ?? 0 },
    };
  }

  /** Waits until some container's OOM killer has fired since the last report, and names it. */
  async nextOomEvent(signal: AbortSignal): Promise<string> {
    while (!signal.aborted) {
      for (const container of this.containers.values()) {
        const kills = (await container.cgroup?.oomKills()) ?? 0;
        if (kills > container.oomKillsReported) {
          container.oomKillsReported = kills;
          return container.id;
        }
      }
      await sleep(OOM_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
    throw notYet();
  }

  async signal(request: SignalProcessRequest): Promise<void> {
    const { signal } = request;
    if (!Number.isInteger(signal) || signal < 1 || signal > 64) {
      throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `signal must be 1-64, got ${signal}`);
    }
    this.get(request.containerId);
    await this.runner.signal(request);
  }

  /** SIGTERM, up to `timeoutSeconds` of grace, SIGKILL; then crun's state, storages and bundle go. */
  async remove(containerId: string, timeoutSeconds: number): Promise<void> {
    const container = this.get(containerId);
    if (container.status === 'removing' || container.status === 'starting') {
      throw new AgentError(AgentErrorCode.WRONG_STATE, `container ${containerId} is ${container.status}`);
    }
    container.status = 'removing';
    const init = this.processes.find(containerId, INIT_EXEC_ID);
    try {
      if (init && !init.hasExited()) await this.runner.stopInit(containerId, init, timeoutSeconds);
      await this.runner.killExecs(containerId);
      await this.crun.deleteForce(containerId);
      await this.mounter.unmountAll(container.mountPoints);
      await rm(container.bundleDir, { recursive: true, force: true });
    } catch (error) {
      container.status = init?.hasExited() === false ? 'running' : 'stopped';
      throw error;
    }
    this.processes.removeContainer(containerId);
    this.containers.delete(containerId);
  }

  /** Removes every container at once, for DestroySandbox. */
  async removeAll(): Promise<void> {
    const results = await Promise.allSettled([...this.containers.keys()].map((id) => this.remove(id, 0)));
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  private get(containerId: string): Container {
    const container = this.containers.get(containerId);
    if (!container) throw new AgentError(AgentErrorCode.CONTAINER_NOT_FOUND, `no container ${containerId}`);
    return container;
  }
}

/** The request's limits as an OCI `LinuxResources` object; zero fields are left out (unchanged). */
export function ociResources(resources: LinuxResources | undefined): Record<string, unknown> {
  if (!resources) throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, 'resources are required');
  const { memoryLimitBytes, cpuQuotaUs, cpuPeriodUs, pidsLimit } = resources;
  for (const [name, value] of Object.entries({ memoryLimitBytes, cpuQuotaUs, pidsLimit })) {
    if (!Number.isSafeInteger(value) || value < -1) {
      throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `${name} must be -1 (no limit), 0 (unchanged) or positive, got ${value}`);
    }
  }
  const oci: Record<string, unknown> = {};
  if (memoryLimitBytes !== 0) oci.memory = { limit: memoryLimitBytes, swap: memoryLimitBytes };
  if (cpuQuotaUs !== 0 || cpuPeriodUs !== 0) {
    oci.cpu = { ...(cpuQuotaUs !== 0 && { quota: cpuQuotaUs }), ...(cpuPeriodUs !== 0 && { period: cpuPeriodUs }) };
  }
  if (pidsLimit !== 0) oci.pids = { limit: pidsLimit };
  return oci;
}

