import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, ErrorCode } from '../common/api.error';
import { WAKE_ON_USE_TIMEOUT_MS, wakesOnUse } from './model/hibernation';
import type { SandboxEntity } from './model/sandbox.entity';

/** How often a request waiting for a sandbox to wake reads its row again. */
const WAKE_POLL_MS = 250;

/**
 * The sandbox `id` once it no longer hibernates or wakes: running (or, if something else
 * happened meanwhile, as it is then, for the caller to refuse). Its row is read again every
 * WAKE_POLL_MS — the node's report may reach any control-plane replica, so the database, not
 * an in-process event, is what a request waits on. WAKE_FAILED when the wake failed it or its
 * node kept it hibernated (its latest event says why), WAKE_TIMEOUT after WAKE_ON_USE_TIMEOUT_MS.
 */
export async function untilAwake(id: string, read: (id: string) => Promise<SandboxEntity>): Promise<SandboxEntity> {
  const deadline = Date.now() + WAKE_ON_USE_TIMEOUT_MS;
  for (;;) {
    const sandbox = await read(id);
    const error = sandbox.state === 'failed' ? sandbox.error : sandbox.state === 'hibernated' && sandbox.desiredHibernated ? sandbox.events.at(-1)?.reason : undefined;
    if (error !== undefined) {
      const why = error ? `: ${error.code}: ${error.message}` : '';
      throw new ApiError(ErrorCode.WAKE_FAILED, `sandbox ${id} was hibernated and failed to wake${why}`);
    }
    if (!wakesOnUse(sandbox) || sandbox.desiredHibernated) return sandbox;
    if (Date.now() >= deadline) {
      throw new ApiError(ErrorCode.WAKE_TIMEOUT, `sandbox ${id} was hibernated and is still ${sandbox.state} after ${WAKE_ON_USE_TIMEOUT_MS / 1000} s`);
    }
    await sleep(WAKE_POLL_MS);
  }
}
