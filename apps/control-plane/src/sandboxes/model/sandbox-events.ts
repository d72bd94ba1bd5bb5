import type { ErrorInfo, SandboxState } from '@moat/proto';

/** One state change of a sandbox: when, into which state, and why when there is a reason to give. */
export interface SandboxEvent {
  /** ISO 8601. */
  at: string;
  state: SandboxState;
  /** For failures (the node's error), restarts, deletes, nodes going away, refused hibernations, idle ones, forks, moves and migrations. */
  reason?: ErrorInfo;
}

/** A sandbox keeps its latest state changes only. */
export const MAX_SANDBOX_EVENTS = 50;

/** Reason codes the control plane gives for the state changes it makes itself. */
export const EventReason = {
  /** Its restart policy started it again; the message says which restart. */
  RESTARTED: 'RESTARTED',
  /** Someone asked for it to go: the API, or the deployment managing it. */
  DELETED: 'DELETED',
  /** Its node went silent or disconnected. */
  NODE_DOWN: 'NODE_DOWN',
  /** The control plane restarted and its node has not said hello since. */
  NODE_UNKNOWN: 'NODE_UNKNOWN',
  /** Its node reported it unused for its idleTimeoutSeconds: it is asked to hibernate. */
  IDLE: 'IDLE',
  /** It was forked: a source names its clones, a clone its source. */
  FORKED: 'FORKED',
  /** It wakes on another node than its own: its saved state moves there (the message names both). */
  MOVING: 'MOVING',
  /** Moving its saved state to another node failed (the node's error): it stays hibernated on its own. */
  MOVE_FAILED: 'MOVE_FAILED',
  /** It is live-migrated to another node while it runs (the message names both). */
  MIGRATING: 'MIGRATING',
  /** Its live migration succeeded: it runs on the other node (the message gives the figures). */
  MIGRATED: 'MIGRATED',
  /** Its live migration failed (the node's error): it runs on its own node again. */
  MIGRATION_FAILED: 'MIGRATION_FAILED',
  /** Its node drains by migration, and it is live-migrated to another node (the message names it). */
  DRAIN_MIGRATED: 'DRAIN_MIGRATED',
  /** Its node drains by migration, and it cannot migrate: the message says why and what happens to it instead. */
  DRAIN_FALLBACK: 'DRAIN_FALLBACK',
} as const;

/**
 * `events` with a change into `state` appended (oldest first, at most {@link MAX_SANDBOX_EVENTS});
 * unchanged when the last recorded change already is into that state.
 */
export function withEvent(events: readonly SandboxEvent[], state: SandboxState, at: Date, reason?: ErrorInfo): SandboxEvent[] {
  if (events.at(-1)?.state === state) return [...events];
  return appendEvent(events, state, at, reason);
}

/** `events` with an event appended even when the state did not change (a reason worth telling, such as a refused hibernation). */
export function appendEvent(events: readonly SandboxEvent[], state: SandboxState, at: Date, reason?: ErrorInfo): SandboxEvent[] {
  const event: SandboxEvent = { at: at.toISOString(), state, ...(reason && { reason: { code: reason.code, message: reason.message } }) };
  return [...events, event].slice(-MAX_SANDBOX_EVENTS);
}
