import type { AuditEntry, AuditQuery } from '@moat/sdk';

/**
 * Whether a live entry belongs in a list loaded with `query`, so entries pushed over the
 * socket appear only where the server would have listed them.
 */
export function matchesAudit(entry: AuditEntry, query: AuditQuery): boolean {
  if (query.actor && entry.actor.id !== query.actor && entry.actor.kind !== query.actor) return false;
  if (query.action && entry.action !== query.action) return false;
  if (query.targetType && entry.targetType !== query.targetType) return false;
  if (query.targetId && entry.targetId !== query.targetId) return false;
  const at = Date.parse(entry.at);
  if (query.since && at < Date.parse(query.since)) return false;
  if (query.until && at > Date.parse(query.until)) return false;
  return true;
}

/** A `datetime-local` input's value as an ISO instant; blank stays undefined. */
export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
