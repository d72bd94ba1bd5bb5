import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';

export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface DetachedSpawnOptions {
  /** stdout and stderr are appended here; the child must not depend on our pipes to survive us. */
  logFile: string;
  /** Open descriptors the child inherits as fd 3, 4, … (e.g. a macvtap device for QEMU). */
  extraFds?: readonly number[];
}

/** A detached child that talks to its parent over two pipes while it starts (see `spawnWithHandshake`). */
export interface HandshakeChild {
  pid: number;
  /** What the child writes to the first pipe (its fd 3 + extraFds.length). */
  reports: Readable;
  /** What the child reads from the second pipe (the fd after that). */
  release: Writable;
  /** Closes both pipes and lets this process exit without waiting for the child. */
  detach(): void;
}

/**
 * Children get a minimal environment: nothing of this process's (tokens, credentials) reaches
 * a VMM or a daemon that a guest could compromise.
 */
export const CHILD_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

export interface RunOptions {
  timeoutMs?: number;
  /** Written to the child's stdin, which is then closed. */
  input?: string;
  /** Added to (and overriding) this process's environment. */
  env?: Record<string, string>;
}

/** Every child process and pid syscall the runtime makes goes through here. */
export interface ProcessAdapter {
  /** Runs to completion; rejects with stderr in the message on a non-zero exit. */
  run(command: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Starts a process in its own session so it outlives the node agent; returns its pid. */
  spawnDetached(command: string, args: readonly string[], opts: DetachedSpawnOptions): Promise<number>;
  /** `spawnDetached` with two more pipes after `extraFds`, for a start handshake. */
  spawnWithHandshake(command: string, args: readonly string[], opts: DetachedSpawnOptions): Promise<HandshakeChild>;
  /** True if the pid exists and is not a zombie. */
  isAlive(pid: number): Promise<boolean>;
  /** The process's argv from /proc, or undefined if it is gone. */
  cmdline(pid: number): Promise<string[] | undefined>;
  /** Every live process (but this one) whose argv `matches`. */
  find(matches: (argv: string[]) => boolean): Promise<number[]>;
  /** Sends a signal; a missing process is not an error. */
  kill(pid: number, signal: NodeJS.Signals): void;
}

const MAX_CAPTURE_BYTES = 1024 * 1024;

export class NodeProcessAdapter implements ProcessAdapter {
  run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: opts.timeoutMs,
        ...(opts.env && { env: { ...process.env, ...opts.env } }),
      });
      // A child that exits without reading all of its stdin must not crash us with EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outBytes = 0;
      let errBytes = 0;
      child.stdout.on('data', (chunk: Buffer) => {
        if ((outBytes += chunk.length) <= MAX_CAPTURE_BYTES) out.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if ((errBytes += chunk.length) <= MAX_CAPTURE_BYTES) err.push(chunk);
      });
      child.once('error', (cause) =>
        reject(new RuntimeError(RuntimeErrorCode.PROCESS_FAILED, `spawn ${command}`, { cause })),
      );
      child.once('close', (code, signal) => {
        const stdout = Buffer.concat(out).toString();
        const stderr = Buffer.concat(err).toString();
        if (code === 0) return resolve({ stdout, stderr });
        const status = signal ? `signal ${signal}` : `exit code ${code}`;
        reject(
          new RuntimeError(RuntimeErrorCode.PROCESS_FAILED, `${command} ${args.join(' ')}: ${status}: ${stderr.trim()}`, {
            // Some tools (CNI plugins) report errors on stdout.
            context: { command, args, stdout: stdout.slice(0, 4096) },
          }),
        );
      });
    });
  }

  async spawnDetached(command: string, args: readonly string[], opts: DetachedSpawnOptions): Promise<number> {
    const child = await this.start(command, args, opts, []);
    // Unref so the node agent can exit while the child keeps running; libuv still reaps it
    // if it dies while we are alive, so no zombie lingers.
    child.unref();
    return child.pid as number;
  }

  async spawnWithHandshake(command: string, args: readonly string[], opts: DetachedSpawnOptions): Promise<HandshakeChild> {
    const child = await this.start(command, args, opts, ['pipe', 'pipe']);
    const first = 3 + (opts.extraFds?.length ?? 0);
    const reports = child.stdio[first] as Readable;
    const release = child.stdio[first + 1] as Writable;
    return {
      pid: child.pid as number,
      reports,
      release,
      detach: () => {
        reports.destroy();
        release.destroy();
        child.unref();
      },
    };
  }

  private start(command: string, args: readonly string[], opts: DetachedSpawnOptions, pipes: 'pipe'[]): Promise<ChildProcess> {
    const logFd = openSync(opts.logFile, 'a');
    return new Promise<ChildProcess>((resolve, reject) => {
      const child = spawn(command, args, { detached: true, env: CHILD_ENV, stdio: ['ignore', logFd, logFd, ...(opts.extraFds ?? []), ...pipes] });
      child.once('error', (cause) => reject(new RuntimeError(RuntimeErrorCode.PROCESS_FAILED, `spawn ${command}`, { cause })));
      child.once('spawn', () => resolve(child));
    }).finally(() => closeSync(logFd));
  }

  async isAlive(pid: number): Promise<boolean> {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // The state letter follows the parenthesised comm, which may itself contain spaces.
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      return state !== 'Z' && state !== 'X';
    } catch {
      return false;
    }
  }

  async cmdline(pid: number): Promise<string[] | undefined> {
    try {
      const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
      return raw.split('\0').filter((arg) => arg.length > 0);
    } catch {
      return undefined;
    }
  }

  async find(matches: (argv: string[]) => boolean): Promise<number[]> {
    const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
    const found: number[] = [];
    for (const pid of pids) {
      if (pid === process.pid) continue;
      const argv = await this.cmdline(pid);
      if (argv && matches(argv) && (await this.isAlive(pid))) found.push(pid);
    }
    return found;
  }

  kill(pid: number, signal: NodeJS.Signals): void {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

/** Polls until the pid is gone or the timeout passes; returns whether it exited. */
export async function waitForExit(proc: ProcessAdapter, pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await proc.isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Copies a file keeping its holes (a RAM file, a sparse disk): only what was written takes space. */
export async function copySparse(proc: Pick<ProcessAdapter, 'run'>, from: string, to: string): Promise<void> {
  await proc.run('cp', ['--sparse=always', '--', from, to]);
}
