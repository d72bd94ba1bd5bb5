import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CreateContainerRequest, ExecProcessRequest, SignalProcessRequest } from '@moat/proto';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { Logger } from '../log/logger';
import { ContainerProcess } from '../process/container-process';
import { INIT_EXEC_ID, type ProcessTable } from '../process/process-table';
import type { StorageMounter } from '../sandbox/storage.mounter';
import type { Crun } from './crun.adapter';
import { execProcessSpec, parseOciSpec, validateId, type OciSpec } from './oci-spec';

type ContainerStatus = 'created' | 'starting' | 'running' | 'stopped' | 'removing';

interface Container {
  id: string;
  bundleDir: string;
  spec: OciSpec;
  mountPoints: string[];
  status: ContainerStatus;
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

/** Containers (crun bundles) and the processes running in them. */
export class ContainerService {
  private readonly containers = new Map<string, Container>();

  constructor(
    private readonly crun: Crun,
    private readonly mounter: StorageMounter,
    private readonly processes: ProcessTable<ContainerProcess>,
    private readonly log: Logger,
    private readonly options: ContainerServiceOptions,
  ) {}

  /** Writes the bundle and mounts the container's storages; crun runs it on StartContainer. */
  async create(request: CreateContainerRequest): Promise<void> {
    const id = validateId('container', request.containerId);
    const spec = parseOciSpec(request.ociSpecJson);
    if (this.containers.has(id)) throw new AgentError(AgentErrorCode.CONTAINER_EXISTS, `container ${id} already exists`);

    const bundleDir = join(this.options.containersDir, id);
    const container: Container = { id, bundleDir, spec, mountPoints: [], status: 'created' };
    // Claimed before the first await so that a concurrent create of the same id fails.
    this.containers.set(id, container);
    try {
      await mkdir(bundleDir, { recursive: true });
      await writeFile(join(bundleDir, 'config.json'), request.ociSpecJson);
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
    const init = this.track(containerId, INIT_EXEC_ID, this.crun.spawnRun(launch));
    try {
      init.pid = await this.waitForPid(init, launch.pidFile, launch.logFile);
    } catch (error) {
      container.status = 'created';
      this.processes.remove(containerId, INIT_EXEC_ID);
      throw error;
    }
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
    const process = this.track(container.id, execId, this.crun.spawnExec(launch));
    try {
      process.pid = await this.waitForPid(process, launch.pidFile, launch.logFile);
    } catch (error) {
      // The error carries crun's reason; the host has no process to wait for.
      this.processes.remove(container.id, execId);
      throw error;
    }
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

  private track(containerId: string, execId: string, child: ChildProcessWithoutNullStreams): ContainerProcess {
    const process = new ContainerProcess(containerId, execId, child, this.options.streamLimitBytes, this.log);
    this.processes.add(process);
    return process;
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

async function readPid(pidFile: string): Promise<number | undefined> {
  const text = await readFile(pidFile, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function exitsWithin(process: ContainerProcess, ms: number): Promise<boolean> {
  const timeout = sleep(ms, false, { ref: false });
  return Promise.race([process.exited.then(() => true), timeout]);
}
