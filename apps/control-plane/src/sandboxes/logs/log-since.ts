/** A `since` of the logs API: an RFC 3339 time, or a duration back from now. */

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
/** `90s`, `5m`, `2h`, `1h30m`, `250ms`: Go's duration syntax, whole numbers only, as `docker logs --since` takes it. */
const DURATION = /^(\d{1,9}(ms|s|m|h))+$/;
const DURATION_PART = /(\d+)(ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** What `since` means and may be, for error messages and the API's description. */
export const SINCE_DESCRIPTION = 'an RFC 3339 time (2026-01-02T15:04:05Z) or a duration back from now (10s, 5m, 2h, 1h30m)';

/** The time `since` names, in ms since the epoch (never before it); undefined when it is neither form. */
export function parseSince(since: string, nowMs: number): number | undefined {
  if (RFC3339.test(since)) {
    const ms = Date.parse(since.replace(' ', 'T'));
    return Number.isNaN(ms) ? undefined : Math.max(0, ms);
  }
  if (!DURATION.test(since)) return undefined;
  let back = 0;
  for (const [, amount, unit] of since.matchAll(DURATION_PART)) back += Number(amount) * UNIT_MS[unit];
  return Math.max(0, nowMs - back);
}
