import { join } from 'node:path';
import { MoatError } from '@moat/proto';
import { FileLock, FileLockError, FileLockErrorCode } from '@moat/runtime-core';

/** The lock file in the node's data dir. */
export const NODE_DIR_LOCK_FILE = 'agent.lock';

export class NodeDirInUseError extends MoatError<'NODE_DIR_IN_USE'> {}

/**
 * Locks the node's data dir for as long as this agent runs (the caller keeps the lock referenced
 * until it exits): two agents on one dir would each adopt, stop and clean up the other's
 * sandboxes. The kernel releases the lock when the agent dies, so a restart never finds it stale.
 */
export async function lockNodeDir(nodeDir: string): Promise<FileLock> {
  try {
    return await FileLock.acquire(join(nodeDir, NODE_DIR_LOCK_FILE));
  } catch (error) {
    if (!(error instanceof FileLockError) || error.code !== FileLockErrorCode.LOCK_HELD) throw error;
    const pid = error.context.holderPid;
    throw new NodeDirInUseError(
      'NODE_DIR_IN_USE',
      `another node agent${typeof pid === 'number' ? ` (pid ${pid})` : ''} is running on ${nodeDir}: one node agent per data dir (MOAT_DATA_DIR)`,
      { cause: error },
    );
  }
}
