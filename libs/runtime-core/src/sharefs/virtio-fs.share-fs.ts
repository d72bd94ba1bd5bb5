import { chown } from 'node:fs/promises';
import { join } from 'node:path';
import type { Storage } from '@moat/proto';
import { describeError, RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { readTail, removeTree, waitForPath } from '../host/fs.helpers';
import { waitForExit, type ProcessAdapter } from '../host/process.adapter';
import { GUEST_SHARED_DIR, SHARED_FS_MOUNT_TAG, type SharedFs, type SharedFsHandle, type SharedFsStartRequest } from './shared-fs';

export const VIRTIOFSD_PATH = '/usr/lib/qemu/virtiofsd';
const SOCKET_WAIT_MS = 5_000;
const STOP_WAIT_MS = 2_000;

/**
 * virtio-fs served by QEMU 7.2's C virtiofsd over vhost-user. The guest's memory must be a
 * shared memfd (see the QEMU machine description) because virtiofsd maps it directly.
 */
export class VirtioFsSharedFs implements SharedFs {
  readonly kind = 'virtiofs' as const;

  constructor(
    private readonly proc: ProcessAdapter,
    private readonly binary = VIRTIOFSD_PATH,
  ) {}

  async start(req: SharedFsStartRequest): Promise<SharedFsHandle> {
    const socketPath = socketPathIn(req.socketDir);
    const logFile = join(req.logDir, 'virtiofsd.log');
    // A stale socket from a crashed run would make virtiofsd refuse to bind.
    await removeTree(socketPath);
    // The socket path holds the sandbox id, so leak checks and `stop` can recognise this
    // daemon by its argv. `cache=always` lets the guest keep its page cache of a file across
    // opens (FOPEN_KEEP_CACHE) and its lookups: with `cache=auto` every exec of a binary read
    // it again over virtio-fs (a loop of `/bin/true` went from ~120 ms per run to ~7 ms under
    // TCG). It is safe because the guest is the only writer: nothing on the host changes a
    // sandbox's shared tree while its VM runs.
    const args = [`--socket-path=${socketPath}`, '-o', `source=${req.sharedDir}`, '-o', 'cache=always', '-o', 'log_level=warn', '--rlimit-nofile=4096'];
    // virtiofsd runs as root, since serving files of every owner takes the file-server
    // capabilities, but keeps its own sandbox: its own mount (pivoted into the shared dir), PID
    // and network namespaces, and its seccomp filter (both virtiofsd's defaults).
    const pid = await this.proc.spawnDetached(this.binary, args, { logFile });
    const handle: SharedFsHandle = { kind: this.kind, daemonPid: pid, attachment: { kind: 'virtiofs', socketPath, mountTag: SHARED_FS_MOUNT_TAG } };
    try {
      await req.enterCgroup(pid);
      const ready = await waitForPath(socketPath, SOCKET_WAIT_MS, () => this.proc.isAlive(pid));
      if (!ready) throw new Error(`virtiofsd did not create ${socketPath}: ${(await readTail(logFile, 2048)).trim()}`);
      // virtiofsd makes its socket root's alone; the jailed VMM connects as its own uid.
      if (req.vmmUid !== undefined) await chown(socketPath, req.vmmUid, req.vmmUid);
    } catch (cause) {
      await this.stop(handle, req.sandboxId);
      throw new RuntimeError(RuntimeErrorCode.SHAREFS_FAILED, describeError(cause), { cause, context: { sandboxId: req.sandboxId } });
    }
    return handle;
  }

  async stop(handle: SharedFsHandle, sandboxId: string): Promise<void> {
    const pid = handle.daemonPid;
    if (pid !== undefined && (await this.ownsProcess(pid, sandboxId))) {
      this.proc.kill(pid, 'SIGTERM');
      if (!(await waitForExit(this.proc, pid, STOP_WAIT_MS))) {
        this.proc.kill(pid, 'SIGKILL');
        await waitForExit(this.proc, pid, STOP_WAIT_MS);
      }
    }
    if (handle.attachment.kind === 'virtiofs') await removeTree(handle.attachment.socketPath);
  }

  async reapStray(socketDir: string): Promise<void> {
    const socketArg = `--socket-path=${socketPathIn(socketDir)}`;
    const pids = await this.proc.find((argv) => argv.includes(socketArg));
    for (const pid of pids) this.proc.kill(pid, 'SIGKILL');
    for (const pid of pids) await waitForExit(this.proc, pid, STOP_WAIT_MS);
  }

  guestStorage(): Storage {
    return { driver: 'virtiofs', source: SHARED_FS_MOUNT_TAG, fstype: 'virtiofs', options: [], mountPoint: GUEST_SHARED_DIR };
  }

  /** Guards against pid reuse: only signal a process whose argv names this sandbox. */
  private async ownsProcess(pid: number, sandboxId: string): Promise<boolean> {
    const argv = await this.proc.cmdline(pid);
    return argv !== undefined && argv.some((arg) => arg.includes(sandboxId));
  }
}

/** virtiofsd's socket in a sandbox's socket dir: its argv names it, which is how a stray one is found. */
function socketPathIn(socketDir: string): string {
  return join(socketDir, 'virtiofsd.sock');
}
