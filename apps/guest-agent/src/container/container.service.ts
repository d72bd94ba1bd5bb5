import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  MAX_WINDOW_DIMENSION,
  type CreateContainerRequest,
  type ExecProcessRequest,
  type LinuxResources,
  type SignalProcessRequest,
  type StatsContainerResponse,
} from '@moat/proto';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { Logger } from '../log/logger';
import { ContainerProcess, type ExitClassifier } from '../process/container-process';
import { NotStartedProcessHandle, PipeProcessHandle, type ProcessHandle } from '../process/process-handle';
import { INIT_EXEC_ID, type ProcessTable } from '../process/process-table';
import { killTree } from '../process/process-tree';
import { PtyProcessHandle } from '../process/pty-process.handle';
import { notYet } from '../process/stream-buffer';
import type { StorageMounter } from '../storage/storage.mounter';
import { CgroupReader, cgroupDirOf } from './cgroup.reader';
import type { Crun } from './crun.adapter';
import { execFailureExitCode } from './exec-failure';
import { execProcessSpec, parseOciSpec, validateId, withMounts, type OciMount, type OciSpec } from './oci-spec';

type ContainerStatus = 'created' | 'starting' | 'running' | 'paused' | 'stopped' | 'removing';

interface Container {
  id: string;
  bundleDir: string;
  spec: OciSpec;
  mountPoints: string[];
  status: ContainerStatus;
  /** Found from the init process once it runs. */
  cgroup?: CgroupReader;
  /** The OOM kill count last reported by GetOOMEvent. */
  oomKillsReported: number;
}

export interface ContainerServiceOptions {
  /** Bundles live in `<containersDir>/<id>`. */
  containersDir: string;
  streamLimitBytes: number;
  /** How long crun may take to report a started process before the start is abandoned. */
  startTimeoutMs: number;
}

// After SIGKILL the kernel tears the pid namespace down; this only guards against a wedged crun.
const KILL_WAIT_MS = 10_000;
const PID_POLL_MS = 10;
const OOM_POLL_MS = 500;
const DEFAULT_WINDOW = { rows: 24, cols: 80 };

/** Containers (crun bundles) and the processes running in them. */
export class ContainerService {
  private readonly containers = new Map<string, Container>();

  constructor(
    private readonly crun: Crun,
    private readonly mounter: StorageMounter,
    private readonly processes: ProcessTable<ContainerProcess>,
    private readonly log: Logger,
    private readonly options: ContainerServiceOptions,
    /** Mounts every container gets from its sandbox (its hostname, hosts and resolv.conf files). */
    private readonly sandboxMounts: () => readonly OciMount[] = () => [],
  ) {}

  /**
   * Writes the bundle, with the sandbox's mounts added to the spec, and mounts the container's
   * storages; crun runs it on StartContainer.
   */
  async create(request: CreateContainerRequest): Promise<void> {
    const id = validateId('container', request.containerId);
    const requested = parseOciSpec(request.ociSpecJson);
    const spec = withMounts(requested, this.sandboxMounts());
    if (this.containers.has(id)) throw new AgentError(AgentErrorCode.CONTAINER_EXISTS, `container ${id} already exists`);

    const bundleDir = join(this.options.containersDir, id);
    const container: Container = { id, bundleDir, spec, mountPoints: [], status: 'created', oomKillsReported: 0 };
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
    const launch = {
      containerId,
      bundleDir: container.bundleDir,
      pidFile: join(container.bundleDir, 'init.pid'),
      logFile: join(container.bundleDir, 'crun.log'),
    };
    await rm(launch.pidFile, { force: true });
    const init = this.track(container, INIT_EXEC_ID, this.pipes(this.crun.spawnRun(launch), containerId, INIT_EXEC_ID));
    try {
      init.pid = await this.waitForPid(init, launch.pidFile, launch.logFile);
    } catch (error) {
      container.status = 'created';
      this.processes.remove(containerId, INIT_EXEC_ID);
      throw error;
    }
    const cgroupDir = await cgroupDirOf(init.pid);
    if (cgroupDir) container.cgroup = new CgroupReader(cgroupDir);
    container.status = 'running';
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
    if (this.processes.find(container.id, execId)) {
      throw new AgentError(AgentErrorCode.PROCESS_EXISTS, `process "${execId}" already exists in container ${container.id}`);
    }
    const spec = execProcessSpec(request.process, container.spec.process);
    const processDir = join(container.bundleDir, 'exec', execId);
    const launch = {
      containerId: container.id,
      processFile: join(processDir, 'process.json'),
      pidFile: join(processDir, 'pid'),
      logFile: join(processDir, 'crun.log'),
    };
    await mkdir(processDir, { recursive: true });
    await rm(launch.pidFile, { force: true });
    await writeFile(launch.processFile, JSON.stringify(spec));
    const handle: ProcessHandle = request.process?.terminal
      ? new PtyProcessHandle(this.crun.spawnExecTerminal(launch, windowOf(request.window)))
      : this.pipes(this.crun.spawnExec(launch), container.id, execId);
    const process = this.track(container, execId, handle);
    try {
      process.pid = await this.waitForPid(process, launch.pidFile, launch.logFile);
    } catch (error) {
      this.processes.remove(container.id, execId);
      // A command that cannot be run is the caller's answer, not the agent's failure: it "exits"
      // 127 or 126 with crun's reason on stderr, as a shell would say it.
      if (!(error instanceof AgentError) || error.code !== AgentErrorCode.CRUN_FAILED) throw error;
      const code = execFailureExitCode(error.message);
      if (code === undefined) throw error;
      this.track(container, execId, new NotStartedProcessHandle(code, error.message.replace(/^crun could not start the process: /, '')));
      return;
    }
    if (request.timeoutMs > 0) this.enforceDeadline(process, request.timeoutMs);
  }

  resize(containerId: string, execId: string, window: { rows: number; cols: number } | undefined): void {
    this.get(containerId);
    const { rows, cols } = windowOf(window);
    this.processes.get(containerId, execId).resize(rows, cols);
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
    const process = this.processes.get(request.containerId, request.execId);
    // Signalling a process that already exited is not an error (Kata ignores ESRCH too).
    if (process.hasExited() || process.pid === undefined) return;
    process.noteSignalSent(signal);
    if (request.execId === INIT_EXEC_ID) {
      await this.crun.kill(request.containerId, signal);
      return;
    }
    // crun exec still waits on the process while it has not exited, so its pid cannot have been reused.
    try {
      globalThis.process.kill(process.pid, signal);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ESRCH') {
        throw new AgentError(AgentErrorCode.CRUN_FAILED, `kill ${process.pid}: ${(cause as Error).message}`, { cause });
      }
    }
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
      if (init && !init.hasExited()) await this.stopInit(containerId, init, timeoutSeconds);
      await this.killExecs(containerId);
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

  private pipes(child: ChildProcessWithoutNullStreams, containerId: string, execId: string): PipeProcessHandle {
    return new PipeProcessHandle(child, (error) => this.log.warn('stdin write failed', { containerId, execId, error }));
  }

  private track(container: Container, execId: string, handle: ProcessHandle): ContainerProcess {
    const process = new ContainerProcess(container.id, execId, handle, this.options.streamLimitBytes, this.oomClassifier(container));
    this.processes.add(process);
    return process;
  }

  /**
   * A process killed by SIGKILL while its container's `oom_kill` count rose was the OOM
   * killer's victim. The count is taken when the process starts, so earlier kills do not count.
   */
  private oomClassifier(container: Container): ExitClassifier {
    const before = container.cgroup?.oomKills() ?? Promise.resolve(0);
    return async ({ signal }) => {
      if (signal !== SIGKILL || !container.cgroup) return { oomKilled: false };
      return { oomKilled: (await container.cgroup.oomKills()) > (await before) };
    };
  }

  /** Kills the process and everything it started once `timeoutMs` have passed. */
  private enforceDeadline(process: ContainerProcess, timeoutMs: number): void {
    const timer = setTimeout(() => {
      if (process.hasExited() || process.pid === undefined) return;
      process.noteTimedOut();
      killTree(process.pid).catch((error: unknown) => this.log.warn('cannot kill timed-out process', { execId: process.execId, error }));
    }, timeoutMs);
    void process.exited.finally(() => clearTimeout(timer));
  }

  /**
   * crun writes the pid file once the process exists; a crun that exits without writing it
   * failed to create the process and said why in its log.
   */
  private async waitForPid(process: ContainerProcess, pidFile: string, logFile: string): Promise<number> {
    const deadline = Date.now() + this.options.startTimeoutMs;
    for (;;) {
      const exitedBefore = process.hasExited();
      const pid = await readPid(pidFile);
      if (pid !== undefined) return pid;
      if (exitedBefore) {
        const reason = (await readFile(logFile, 'utf8').catch(() => '')).trim();
        throw new AgentError(AgentErrorCode.CRUN_FAILED, `crun could not start the process: ${reason || 'no error reported'}`);
      }
      if (Date.now() > deadline) {
        process.abandon();
        throw new AgentError(AgentErrorCode.CRUN_FAILED, `crun did not start the process within ${this.options.startTimeoutMs} ms`);
      }
      await sleep(PID_POLL_MS);
    }
  }

  private async stopInit(containerId: string, init: ContainerProcess, timeoutSeconds: number): Promise<void> {
    if (timeoutSeconds > 0) {
      await this.crun.kill(containerId, SIGTERM).catch((error: unknown) => this.log.warn('SIGTERM failed', { containerId, error }));
      if (await exitsWithin(init, timeoutSeconds * 1000)) return;
    }
    await this.crun.kill(containerId, SIGKILL).catch((error: unknown) => {
      // The init process may have exited between the check and the kill.
      if (!init.hasExited()) throw error;
    });
    if (!(await exitsWithin(init, KILL_WAIT_MS))) {
      throw new AgentError(AgentErrorCode.CRUN_FAILED, `init process of ${containerId} survived SIGKILL`);
    }
  }

  /** Exec processes die with the container's pid namespace; without one they have to be killed. */
  private async killExecs(containerId: string): Promise<void> {
    const running = this.processes.ofContainer(containerId).filter((process) => !process.hasExited());
    for (const process of running) {
      if (process.pid === undefined) process.abandon();
      else {
        try {
          globalThis.process.kill(process.pid, SIGKILL);
        } catch {
          // Already gone.
        }
      }
    }
    await Promise.all(running.map((process) => exitsWithin(process, KILL_WAIT_MS)));
  }

}

const SIGTERM = 15;
const SIGKILL = 9;

function windowOf(window: { rows: number; cols: number } | undefined): { rows: number; cols: number } {
  if (!window || (window.rows === 0 && window.cols === 0)) return DEFAULT_WINDOW;
  const { rows, cols } = window;
  if (rows < 1 || cols < 1 || rows > MAX_WINDOW_DIMENSION || cols > MAX_WINDOW_DIMENSION) {
    throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `window must be 1-${MAX_WINDOW_DIMENSION} rows and columns, got ${rows}x${cols}`);
  }
  return { rows, cols };
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

async function readPid(pidFile: string): Promise<number | undefined> {
  const text = await readFile(pidFile, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function exitsWithin(process: ContainerProcess, ms: number): Promise<boolean> {
  const timeout = sleep(ms, false, { ref: false });
  return Promise.race([process.exited.then(() => true), timeout]);
}
