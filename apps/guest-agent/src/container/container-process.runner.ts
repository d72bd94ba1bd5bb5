import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_WINDOW_DIMENSION, type ExecProcessRequest, type SignalProcessRequest } from '@moat/proto';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { Logger } from '../log/logger';
import { ContainerProcess, type ExitClassifier } from '../process/container-process';
import { NotStartedProcessHandle, PipeProcessHandle, type ProcessHandle } from '../process/process-handle';
import { INIT_EXEC_ID, type ProcessTable } from '../process/process-table';
import { killTree } from '../process/process-tree';
import { PtyProcessHandle } from '../process/pty-process.handle';
import type { Container } from './container.types';
import { readPidFile, type Crun } from './crun.adapter';
import { execFailureExitCode } from './exec-failure';
import { execProcessSpec, type OciProcess } from './oci-spec';
import { Spawners } from './spawners';

export interface ContainerProcessOptions {
  streamLimitBytes: number;
  /** How long crun may take to report a started process before the start is abandoned. */
  startTimeoutMs: number;
  /** moat-spawner's binary; unset: every exec goes through `crun exec`. */
  spawnerPath?: string;
}

// After SIGKILL the kernel tears the pid namespace down; this only guards against a wedged crun.
const KILL_WAIT_MS = 10_000;
const PID_POLL_MS = 10;
const DEFAULT_WINDOW = { rows: 24, cols: 80 };
const SIGTERM = 15;
const SIGKILL = 9;

/**
 * The processes that run in containers: the init process (`crun run`) and execs — through the
 * container's moat-spawner when it can (no terminal, the spawner's user), else `crun exec` —
 * tracked in the process table, signalled, resized, and killed when their container goes.
 */
export class ContainerProcessRunner {
  private readonly spawners: Spawners;

  constructor(
    private readonly crun: Crun,
    private readonly processes: ProcessTable<ContainerProcess>,
    private readonly log: Logger,
    private readonly options: ContainerProcessOptions,
  ) {
    this.spawners = new Spawners(crun, log, { binary: options.spawnerPath, startTimeoutMs: options.startTimeoutMs });
  }

  /** Runs the container's init process; resolves once crun has reported its pid. */
  async runInit(container: Container): Promise<{ init: ContainerProcess; pid: number }> {
    const launch = {
      containerId: container.id,
      bundleDir: container.bundleDir,
      pidFile: join(container.bundleDir, 'init.pid'),
      logFile: join(container.bundleDir, 'crun.log'),
    };
    await rm(launch.pidFile, { force: true });
    const handle: ProcessHandle = container.initTerminal
      ? new PtyProcessHandle(this.crun.spawnRunTerminal(launch, windowOf(undefined)))
      : this.pipes(this.crun.spawnRun(launch), container.id, INIT_EXEC_ID);
    const init = this.track(container, INIT_EXEC_ID, handle);
    let pid: number;
    try {
      pid = await this.waitForPid(init, launch.pidFile, launch.logFile);
    } catch (error) {
      this.processes.remove(container.id, INIT_EXEC_ID);
      throw error;
    }
    init.pid = pid;
    return { init, pid };
  }

  /**
   * Starts the container's spawner in the background, for the user execs run as by default
   * (root; a host asks for another only explicitly), so that the first exec finds it running.
   */
  prepareExecs(container: Container): void {
    // Only the user and the security settings count: the spawner runs its own binary.
    const spec = execProcessSpec({ args: ['true'], env: [], cwd: '/', terminal: false, uid: 0, gid: 0 }, container.spec.process);
    void this.spawners.forProcess(container, spec);
  }

  /** Starts an exec in a running container; a command that cannot be run "exits" 127 or 126. */
  async exec(container: Container, execId: string, request: ExecProcessRequest): Promise<void> {
    if (this.processes.find(container.id, execId)) {
      throw new AgentError(AgentErrorCode.PROCESS_EXISTS, `process "${execId}" already exists in container ${container.id}`);
    }
    const spec = execProcessSpec(request.process, container.spec.process);
    if (!request.process?.terminal) {
      const spawned = await this.execThroughSpawner(container, execId, spec);
      if (spawned) {
        if (request.timeoutMs > 0) this.enforceDeadline(spawned, request.timeoutMs);
        return;
      }
    }
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

  /**
   * Starts the exec through the container's spawner; undefined when it goes through crun
   * instead: no spawner for this user, or the spawner could not start it (it died first, or
   * could not fork), in which case the command did not run. A command that cannot be run
   * "exits" 127 or 126 with the reason on stderr, as through crun.
   */
  private async execThroughSpawner(container: Container, execId: string, spec: OciProcess): Promise<ContainerProcess | undefined> {
    const spawner = await this.spawners.forProcess(container, spec);
    if (!spawner) return undefined;
    let outcome;
    try {
      outcome = await spawner.spawn(spec.args, spec.env ?? [], spec.cwd ?? '/');
    } catch (cause) {
      if (!spawner.alive) return undefined;
      throw new AgentError(AgentErrorCode.CRUN_FAILED, `cannot start the process: ${(cause as Error).message}`, { cause });
    }
    if (!outcome.started) {
      this.log.warn('the spawner could not fork; going through crun', { containerId: container.id, errno: outcome.errno });
      return undefined;
    }
    const process = this.track(container, execId, outcome.handle);
    process.pid = outcome.pid;
    return process;
  }

  resize(containerId: string, execId: string, window: { rows: number; cols: number } | undefined): void {
    const { rows, cols } = windowOf(window);
    this.processes.get(containerId, execId).resize(rows, cols);
  }

  async signal(request: SignalProcessRequest): Promise<void> {
    const { signal } = request;
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

  private pipes(child: ChildProcessWithoutNullStreams, containerId: string, execId: string): PipeProcessHandle {
    return PipeProcessHandle.ofChild(child, (error) => this.log.warn('stdin write failed', { containerId, execId, error }));
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
      const pid = await readPidFile(pidFile);
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

  /** Stops the init process: SIGTERM and `timeoutSeconds` of grace (none when 0), then SIGKILL. */
  async stopInit(containerId: string, init: ContainerProcess, timeoutSeconds: number): Promise<void> {
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
  async killExecs(containerId: string): Promise<void> {
    this.spawners.stop(containerId);
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

function windowOf(window: { rows: number; cols: number } | undefined): { rows: number; cols: number } {
  if (!window || (window.rows === 0 && window.cols === 0)) return DEFAULT_WINDOW;
  const { rows, cols } = window;
  if (rows < 1 || cols < 1 || rows > MAX_WINDOW_DIMENSION || cols > MAX_WINDOW_DIMENSION) {
    throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `window must be 1-${MAX_WINDOW_DIMENSION} rows and columns, got ${rows}x${cols}`);
  }
  return { rows, cols };
}

async function exitsWithin(process: ContainerProcess, ms: number): Promise<boolean> {
  const timeout = sleep(ms, false, { ref: false });
  return Promise.race([process.exited.then(() => true), timeout]);
}
