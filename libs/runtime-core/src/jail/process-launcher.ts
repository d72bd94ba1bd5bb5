import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { readTail } from '../host/fs.helpers';
import type { ProcessAdapter } from '../host/process.adapter';
import type { Cgroups } from './cgroups';
import { JailError, JailErrorCode } from './jail.errors';
import { jailArgv, type JailSpec } from './jail-spec';

/** How long bubblewrap has to set up the namespaces and say which pid the jailed process has. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** bubblewrap's report is a few hundred bytes; anything longer is not it. */
const MAX_REPORT_BYTES = 64 * 1024;

/** One per-sandbox host process to start (a VMM, a helper). */
export interface LaunchRequest {
  command: string;
  args: readonly string[];
  /** stdout and stderr are appended here. */
  logFile: string;
  /** Inherited as fd 3, 4, … (a NIC's tap, a snapshot's state). */
  extraFds?: readonly number[];
  /** Run it jailed; absent: as root in the host's namespaces (`MOAT_JAIL=false`, for debugging only). */
  jail?: JailSpec;
  /** The sandbox's host cgroup: a jailed process is moved in before it execs, an unjailed one right after it starts. */
  cgroup?: { cgroups: Cgroups; name: string };
  /** A jailed process's exit status is appended here as JSON when it ends (see `exitStatus`). */
  statusFile?: string;
}

/**
 * Starts per-sandbox host processes detached from the node agent (so they outlive it), jailed
 * and in their sandbox's cgroup. Returns the pid of the process itself (for a jailed one, its
 * pid as the host sees it: bubblewrap's child, which execs setpriv and then the command).
 */
export class ProcessLauncher {
  constructor(private readonly proc: ProcessAdapter) {}

  async launch(req: LaunchRequest): Promise<number> {
    if (!req.jail) {
      const pid = await this.proc.spawnDetached(req.command, req.args, { logFile: req.logFile, extraFds: req.extraFds });
      if (req.cgroup) await req.cgroup.cgroups.enter(req.cgroup.name, pid);
      return pid;
    }
    // bubblewrap's monitor keeps the status file open; its sandboxed child closes it before the command runs.
    const statusFd = req.statusFile === undefined ? undefined : openSync(req.statusFile, 'a', 0o600);
    const extraFds = [...(req.extraFds ?? []), ...(statusFd === undefined ? [] : [statusFd])];
    const first = 3 + extraFds.length;
    const [command, args] = jailArgv(req.jail, req.command, req.args, {
      info: first,
      release: first + 1,
      ...(statusFd !== undefined && { status: first - 1 }),
    });
    let child;
    try {
      child = await this.proc.spawnWithHandshake(command, args, { logFile: req.logFile, extraFds });
    } finally {
      if (statusFd !== undefined) closeSync(statusFd);
    }
    try {
      const jailedPid = await childPid(child.reports, HANDSHAKE_TIMEOUT_MS);
      if (req.cgroup) {
        // bubblewrap's monitor too, so that the cgroup holds everything the sandbox runs.
        await req.cgroup.cgroups.enter(req.cgroup.name, child.pid);
        await req.cgroup.cgroups.enter(req.cgroup.name, jailedPid);
      }
      // Flushed before detach() destroys the pipe: the byte is what lets it run.
      await new Promise<void>((resolve) => child.release.end(Buffer.from([1]), resolve));
      return jailedPid;
    } catch (cause) {
      this.proc.kill(child.pid, 'SIGKILL');
      const tail = (await readTail(req.logFile, 2048)).trim();
      throw new JailError(JailErrorCode.JAIL_START_FAILED, `jail ${req.command}${tail ? `: ${tail}` : ''}`, { cause });
    } finally {
      child.detach();
    }
  }
}

/**
 * How a jailed process ended, from the status file its launch named: `exited with status N`,
 * `was killed by signal N (NAME)`, or undefined while it runs (or when it was not jailed).
 */
export async function exitStatus(statusFile: string): Promise<string | undefined> {
  const text = await readFile(statusFile, 'utf8').catch(() => '');
  const match = /"exit-code":\s*(\d+)/.exec(text);
  if (!match) return undefined;
  const code = Number(match[1]);
  // bubblewrap reports a death by signal as 128 + the signal, as a shell does.
  if (code <= 128) return `exited with status ${code}`;
  const signal = code - 128;
  const name = Object.entries(constants.signals).find(([, number]) => number === signal)?.[0];
  return `was killed by signal ${signal}${name ? ` (${name})` : ''}`;
}

/** Reads bubblewrap's `--info-fd` report (`{"child-pid": N, …}`) to its end. */
function childPid(reports: Readable, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => finish(new Error(`no report from bubblewrap within ${timeoutMs} ms`)), timeoutMs);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      reports.removeAllListeners();
      if (error) return reject(error);
      try {
        const pid = (JSON.parse(text) as { 'child-pid'?: unknown })['child-pid'];
        if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 1) throw new Error(`bubblewrap reported ${text.trim() || 'nothing'}`);
        resolve(pid);
      } catch (cause) {
        reject(cause instanceof Error ? cause : new Error(String(cause)));
      }
    };
    reports.setEncoding('utf8');
    reports.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_REPORT_BYTES) finish(new Error('bubblewrap report too long'));
    });
    reports.once('end', () => finish());
    reports.once('error', (error) => finish(error));
  });
}
