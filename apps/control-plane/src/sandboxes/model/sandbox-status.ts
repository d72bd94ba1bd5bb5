import type { ErrorInfo, SandboxState, SandboxStatus } from '@moat/proto';
import { isHibernateRefusal, isReleased } from './hibernation';
import { restartDueAt } from './restart-policy';
import { appendEvent, EventReason, withEvent } from './sandbox-events';
import type { SandboxEntity } from './sandbox.entity';
import type { TypedStatusColumn } from './sandboxes.repository';

/** What applying one status report did to its sandbox. */
export interface StatusOutcome {
  sandbox: SandboxEntity;
  /** Its row must be written. */
  changed: boolean;
  /** The sandbox left its node's desired set (it failed), or its entry there changed (no longer to hibernate), so the node must hear about it. */
  desiredChanged: boolean;
  /** Its columns that changed and are not text (stored apart from the others). */
  typedChanged?: TypedStatusColumn[];
  /** Its vCPUs and memory stopped or started counting on its node and in its tenant's quota (see isReleased). */
  releasedChanged?: boolean;
  /** It was being deleted and is gone now: its row is to be removed. */
  removed?: true;
}

/** Applies a node's report on one of its sandboxes to the entity; the caller stores the batch. */
export function applyStatus(sandbox: SandboxEntity, status: SandboxStatus, at: Date): StatusOutcome {
  if (sandbox.liveMove && sandbox.state === 'migrating') {
    // While its VM is live-migrated, its own node runs it (`migrating` here) until it runs on the
    // target; the migration's answer decides where it is, not its node's `gone` (the source
    // releases it once the target runs it, which may be heard before that answer).
    if (status.state === 'gone') return { sandbox, changed: false, desiredChanged: false };
    if (status.state === 'running') return observed(sandbox, status, 'migrating', at);
  }
  return status.state === 'gone' ? gone(sandbox, at) : observed(sandbox, status, status.state, at);
}

function observed(sandbox: SandboxEntity, status: SandboxStatus, state: SandboxState, at: Date): StatusOutcome {
  const previous = { state: sandbox.state, released: isReleased(sandbox), savedBytes: sandbox.savedBytes, desiredHibernated: sandbox.desiredHibernated };
  // While its saved state moves to another node (see sandboxes/move) it is `waking`, though its
  // node still holds it hibernated and says so.
  const moving = sandbox.movingTo !== null && state === 'hibernated';
  Object.assign(sandbox, {
    // While being deleted it stays `stopping` until gone, whatever else is reported.
    state: sandbox.desiredState === 'running' && !moving ? state : sandbox.state,
    progress: status.progress ?? null,
    savedBytes: state === 'hibernated' && !moving ? (status.savedBytes ?? null) : null,
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
  // A node that cannot hibernate it keeps it running and says why: stop asking, and tell the
  // user. A failed one
  // starts afresh, not hibernated, if its restart policy starts it again.
  const refusal = state === 'running' && sandbox.desiredHibernated && isHibernateRefusal(status.error) ? status.error : undefined;
  if (refusal || state === 'failed') sandbox.desiredHibernated = false;
  // A node that could not wake it keeps it hibernated, its saved state intact, and says why:
  // stop asking (it stays asleep until woken again), and tell the user.
  const wakeRefusal = state === 'hibernated' && !moving && !sandbox.desiredHibernated && status.error ? status.error : undefined;
  if (wakeRefusal) sandbox.desiredHibernated = true;
  // Auto-hibernate: its node found it unused for its idle timeout; the node only says so, the
  // decision is the control plane's (the desired set asks for the hibernation).
  const idle = !refusal && state === 'running' ? idleReason(sandbox, status) : undefined;
  if (idle) sandbox.desiredHibernated = true;
  // Told in an event even when the state does not change.
  const reason = refusal ?? wakeRefusal ?? idle;
  const typedChanged: TypedStatusColumn[] = [];
  if (sandbox.savedBytes !== previous.savedBytes) typedChanged.push('savedBytes');
  if (sandbox.desiredHibernated !== previous.desiredHibernated) typedChanged.push('desiredHibernated');
  const outcome = { sandbox, changed: true, typedChanged, releasedChanged: isReleased(sandbox) !== previous.released };
  // Its entry in its node's desired set changes with its hibernation.
  const hibernationChanged = sandbox.desiredHibernated !== previous.desiredHibernated;

  if (sandbox.state === previous.state) {
    if (reason) sandbox.events = appendEvent(sandbox.events, sandbox.state, at, reason);
    return { ...outcome, desiredChanged: hibernationChanged };
  }
  const failed = sandbox.state === 'failed';
  sandbox.events = withEvent(sandbox.events, sandbox.state, at, failed ? (sandbox.error ?? undefined) : reason);
  const restartAt = failed ? restartDueAt(sandbox.restartPolicy, sandbox.restartCount, at) : null;
  if (restartAt?.getTime() !== sandbox.restartAt?.getTime()) typedChanged.push('restartAt');
  sandbox.restartAt = restartAt;
  // A failed sandbox leaves the desired set, so the node must hear about it; one to be
  // restarted stays in it, failed, until the restart is due.
  return { ...outcome, desiredChanged: hibernationChanged || (failed && restartAt === null) };
}

/**
 * Why to hibernate a sandbox its node reports idle for at least its idle timeout while it is
 * meant to run awake; undefined for any other (one without a timeout, or asked to hibernate
 * already, is not asked for it).
 */
function idleReason(sandbox: SandboxEntity, { idleSeconds }: SandboxStatus): ErrorInfo | undefined {
  if (idleSeconds === undefined || sandbox.idleTimeoutSeconds === null || idleSeconds < sandbox.idleTimeoutSeconds) return undefined;
  if (sandbox.desiredState !== 'running' || sandbox.desiredHibernated) return undefined;
  return { code: EventReason.IDLE, message: `idle for ${idleSeconds} s: hibernating` };
}

function gone(sandbox: SandboxEntity, at: Date): StatusOutcome {
  if (sandbox.desiredState === 'deleted') return { sandbox, changed: false, desiredChanged: false, removed: true };
  if (sandbox.state === 'failed') return { sandbox, changed: false, desiredChanged: false };
  // Not restarted: only a sandbox its node reports failed is (a node that lost one would
  // start it again at once, outside the restart policy's count and backoff).
  const error = { code: 'SANDBOX_LOST', message: 'the node no longer has this sandbox' };
  const released = isReleased(sandbox);
  Object.assign(sandbox, { state: 'failed', error, events: withEvent(sandbox.events, 'failed', at, error), updatedAt: at });
  const typedChanged: TypedStatusColumn[] = sandbox.restartAt !== null ? ['restartAt'] : [];
  sandbox.restartAt = null;
  return { sandbox, changed: true, desiredChanged: true, typedChanged, releasedChanged: released };
}
