import type { SandboxState, SandboxStatus } from '@moat/proto';
import { restartDueAt } from './restart-policy';
import { withEvent } from './sandbox-events';
import type { SandboxEntity } from './sandbox.entity';

/** What applying one status report did to its sandbox. */
export interface StatusOutcome {
  sandbox: SandboxEntity;
  /** Its row must be written. */
  changed: boolean;
  /** The sandbox left its node's desired set (it failed), so the node must hear about it. */
  desiredChanged: boolean;
  /** Its `restartAt` changed (stored apart from the other columns). */
  restartChanged?: boolean;
  /** It was being deleted and is gone now: its row is to be removed. */
  removed?: true;
}

/** Applies a node's report on one of its sandboxes to the entity; the caller stores the batch. */
export function applyStatus(sandbox: SandboxEntity, status: SandboxStatus, at: Date): StatusOutcome {
  return status.state === 'gone' ? gone(sandbox, at) : observed(sandbox, status, status.state, at);
}

function observed(sandbox: SandboxEntity, status: SandboxStatus, state: SandboxState, at: Date): StatusOutcome {
  const previous = sandbox.state;
  Object.assign(sandbox, {
    // While being deleted it stays `stopping` until gone, whatever else is reported.
    state: sandbox.desiredState === 'running' ? state : sandbox.state,
    progress: status.progress ?? null,
    updatedAt: at,
    ...(status.timings.length > 0 && { timings: status.timings }),
    ...(status.guest && { guest: status.guest }),
    ...(status.network && { ip: status.network.ip, ports: status.network.ports }),
    ...(status.transport && { transport: status.transport }),
    ...(status.isolation && { isolation: status.isolation }),
  });
  if (state === 'failed') {
    sandbox.error = status.error ?? { code: 'SANDBOX_FAILED', message: 'the node reported the sandbox failed' };
  } else if (state !== 'stopping' && state !== 'stopped') {
    sandbox.error = null;
  }
  if (sandbox.state === previous) return { sandbox, changed: true, desiredChanged: false };
  const failed = sandbox.state === 'failed';
  sandbox.events = withEvent(sandbox.events, sandbox.state, at, failed ? (sandbox.error ?? undefined) : undefined);
  const restartAt = failed ? restartDueAt(sandbox.restartPolicy, sandbox.restartCount, at) : null;
  const restartChanged = restartAt?.getTime() !== sandbox.restartAt?.getTime();
  sandbox.restartAt = restartAt;
  // A failed sandbox leaves the desired set, so the node must hear about it; one to be
  // restarted stays in it, failed, until the restart is due.
  return { sandbox, changed: true, desiredChanged: failed && restartAt === null, restartChanged };
}

function gone(sandbox: SandboxEntity, at: Date): StatusOutcome {
  if (sandbox.desiredState === 'deleted') return { sandbox, changed: false, desiredChanged: false, removed: true };
  if (sandbox.state === 'failed') return { sandbox, changed: false, desiredChanged: false };
  // Not restarted: only a sandbox its node reports failed is (a node that lost one would
  // start it again at once, outside the restart policy's count and backoff).
  const error = { code: 'SANDBOX_LOST', message: 'the node no longer has this sandbox' };
  Object.assign(sandbox, { state: 'failed', error, events: withEvent(sandbox.events, 'failed', at, error), updatedAt: at });
  const restartChanged = sandbox.restartAt !== null;
  sandbox.restartAt = null;
  return { sandbox, changed: true, desiredChanged: true, restartChanged };
}
