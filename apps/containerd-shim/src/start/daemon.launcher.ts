import { spawn } from 'node:child_process';

/** A daemon `start` launched. */
export interface LaunchedDaemon {
  /** Resolves when it exits, to its exit code or the signal that ended it (or why it could not start). */
  readonly exited: Promise<number | string>;
  /** Kills it (SIGKILL); a daemon that is gone already is fine. */
  kill(): void;
}

/** Starts the shim's daemon. */
export interface DaemonLauncher {
  /**
   * Starts the daemon with `args` in its own session, so it outlives `start` and containerd's
   * process group, with its working directory `cwd` and stdout and stderr on `logFd`.
   */
  launch(args: readonly string[], options: { cwd: string; logFd: number }): LaunchedDaemon;
}

/**
 * Launches `entry` (this program's main script) again, on the Node that runs this process, named
 * `name` (its argv[0], so `ps` and `pgrep -f` show the shim's name rather than node's).
 */
export class NodeDaemonLauncher implements DaemonLauncher {
  constructor(
    private readonly entry: string,
    private readonly name: string,
  ) {}

  launch(args: readonly string[], { cwd, logFd }: { cwd: string; logFd: number }): LaunchedDaemon {
    const child = spawn(process.execPath, [...process.execArgv, this.entry, ...args], {
      cwd,
      argv0: this.name,
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ?? code ?? 'unknown'));
      child.once('error', (error) => resolve(error.message));
    });
    child.unref();
    return {
      exited,
      kill: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
    };
  }
}
