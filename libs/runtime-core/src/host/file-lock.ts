import { constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { MoatError } from '@moat/proto';
import { loadLibc } from './libc';

/** Why a file lock was not taken. */
export enum FileLockErrorCode {
  /** Another open file (another process, or another lock in this one) holds it. */
  LOCK_HELD = 'LOCK_HELD',
  LOCK_FAILED = 'LOCK_FAILED',
}

export class FileLockError extends MoatError<FileLockErrorCode> {}

const LOCK_EX = 2;
const LOCK_NB = 4;

/**
 * An exclusive `flock(2)` on a file, held while the lock is open. The kernel drops it when its
 * holder ends, however it ends (a crash, SIGKILL, a power cut), so a lock left behind is never
 * stale and a reused pid never looks like a live holder. Node opens files close-on-exec, so
 * children (the VMMs, which outlive their node agent) never inherit it. The file holds the
 * holder's pid, for error messages only.
 */
export class FileLock {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /** Takes the lock without waiting; `FileLockError` `LOCK_HELD` (context: `holderPid`) when it is held. */
  static async acquire(path: string): Promise<FileLock> {
    const libc = await loadLibc();
    let handle: FileHandle;
    try {
      // Not truncated on open: the holder's pid stays readable for whoever is refused.
      handle = await open(path, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600);
    } catch (cause) {
      throw new FileLockError(FileLockErrorCode.LOCK_FAILED, `open lock file ${path}`, { cause, context: { path } });
    }
    if (libc.flock(handle.fd, LOCK_EX | LOCK_NB) !== 0) {
      const errno = libc.errno();
      const holder = await handle.readFile('utf8').catch(() => '');
      await handle.close();
      if (errno === osConstants.errno.EWOULDBLOCK) {
        const holderPid = /^\d+$/.test(holder.trim()) ? Number(holder.trim()) : undefined;
        throw new FileLockError(FileLockErrorCode.LOCK_HELD, `${path} is locked${holderPid === undefined ? '' : ` by pid ${holderPid}`}`, {
          context: { path, holderPid },
        });
      }
      throw new FileLockError(FileLockErrorCode.LOCK_FAILED, `flock ${path} failed with errno ${errno}`, { context: { path } });
    }
    await handle.truncate(0);
    await handle.write(`${process.pid}\n`, 0);
    return new FileLock(path, handle);
  }

  /** Gives the lock up (closing the file is what drops it); the file stays, for the next holder. */
  async release(): Promise<void> {
    await this.handle.close();
  }
}
