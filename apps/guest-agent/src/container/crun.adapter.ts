import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { IPty } from '@lydell/node-pty';
import type { CrunConfig } from '../config/agent.config';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { HostCommands } from '../host/host-commands.adapter';

export interface CrunLaunch {
  containerId: string;
  pidFile: string;
  /** crun's own errors go here, so they do not mix with the workload's stderr. */
  logFile: string;
}

/** The pid crun wrote to a `--pid-file`; undefined while it has not (or when it is not a pid). */
export async function readPidFile(pidFile: string): Promise<number | undefined> {
  const text = await readFile(pidFile, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Builds crun command lines; the long-running `run` and `exec` are returned as children. */
export class Crun {
  constructor(
    private readonly config: CrunConfig,
    private readonly host: HostCommands,
  ) {}

  runArgs(launch: CrunLaunch & { bundleDir: string }): string[] {
    return [
      ...this.globalArgs(launch.logFile),
      'run',
      ...(this.config.noPivot ? ['--no-pivot'] : []),
      '--pid-file',
      launch.pidFile,
      '--bundle',
      launch.bundleDir,
      launch.containerId,
    ];
  }

  execArgs(launch: CrunLaunch & { processFile: string }, detached?: { preserveFds: number }): string[] {
    return [
      ...this.globalArgs(launch.logFile),
      'exec',
      ...(detached ? ['--detach', `--preserve-fds=${detached.preserveFds}`] : []),
      '--process',
      launch.processFile,
      '--pid-file',
      launch.pidFile,
      launch.containerId,
    ];
  }

  /** Foreground `crun run`: stays the parent of the container's init process and exits with its status. */
  spawnRun(launch: CrunLaunch & { bundleDir: string }): ChildProcessWithoutNullStreams {
    return this.host.spawn(this.config.binary, this.runArgs(launch));
  }

  /** Foreground `crun run` on a new pty: the spec says `terminal: false` (see crunSpec), so crun passes the pty on. */
  spawnRunTerminal(launch: CrunLaunch & { bundleDir: string }, size: { rows: number; cols: number }): IPty {
    return this.host.spawnTerminal(this.config.binary, this.runArgs(launch), size);
  }

  /** Foreground `crun exec`: waits for the process and exits with its status. */
  spawnExec(launch: CrunLaunch & { processFile: string }): ChildProcessWithoutNullStreams {
    return this.host.spawn(this.config.binary, this.execArgs(launch));
  }

  /**
   * Detached `crun exec` (crun exits once the process runs) that passes `extraFds` on as the
   * process's fds 3, 4, … (see HostCommands.spawn): how the moat-spawner starts, its binary one
   * of them and its socket to the agent another.
   */
  spawnDetachedExec(launch: CrunLaunch & { processFile: string }, extraFds: readonly (number | 'pipe')[]): ChildProcessWithoutNullStreams {
    return this.host.spawn(this.config.binary, this.execArgs(launch, { preserveFds: extraFds.length }), extraFds);
  }

  /** Foreground `crun exec` on a new pty: the process spec says `terminal: false`, so crun passes the pty on. */
  spawnExecTerminal(launch: CrunLaunch & { processFile: string }, size: { rows: number; cols: number }): IPty {
    return this.host.spawnTerminal(this.config.binary, this.execArgs(launch), size);
  }

  /** Freezes every process of the container (cgroup v2 freezer). */
  async pause(containerId: string): Promise<void> {
    await this.runChecked([...this.globalArgs(), 'pause', containerId]);
  }

  async resume(containerId: string): Promise<void> {
    await this.runChecked([...this.globalArgs(), 'resume', containerId]);
  }

  /** Applies an OCI `LinuxResources` JSON file to the running container's cgroup. */
  async update(containerId: string, resourcesFile: string): Promise<void> {
    await this.runChecked([...this.globalArgs(), 'update', '--resources', resourcesFile, containerId]);
  }

  async kill(containerId: string, signal: number): Promise<void> {
    await this.runChecked([...this.globalArgs(), 'kill', containerId, String(signal)]);
  }

  /** Removes crun's state for the container; a container crun does not know is already gone. */
  async deleteForce(containerId: string): Promise<void> {
    const args = [...this.globalArgs(), 'delete', '-f', containerId];
    const result = await this.host.run(this.config.binary, args);
    if (result.exitCode !== 0 && !/does not exist|no such file/i.test(result.stderr)) {
      throw this.failure(args, result.stderr);
    }
  }

  private globalArgs(logFile?: string): string[] {
    return [
      '--root',
      this.config.root,
      ...(this.config.cgroupManager ? [`--cgroup-manager=${this.config.cgroupManager}`] : []),
      ...(logFile ? [`--log=file:${logFile}`] : []),
    ];
  }

  private async runChecked(args: string[]): Promise<void> {
    const result = await this.host.run(this.config.binary, args);
    if (result.exitCode !== 0) throw this.failure(args, result.stderr);
  }

  private failure(args: string[], stderr: string): AgentError {
    return new AgentError(AgentErrorCode.CRUN_FAILED, `crun ${args.join(' ')}: ${stderr || 'failed'}`);
  }
}
