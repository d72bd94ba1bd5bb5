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
    const first = 3 + (req.extraFds?.length ?? 0);
    const [command, args] = jailArgv(req.jail, req.command, req.args, { info: first, release: first + 1 });
    const child = await this.proc.spawnWithHandshake(command, args, { logFile: req.logFile, extraFds: req.extraFds });
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
