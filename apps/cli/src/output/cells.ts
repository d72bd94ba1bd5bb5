// How values of the API's objects read in a table cell.

/** `k=v,k2=v2`, or `-` when empty. */
export function keyValues(map: Record<string, string>): string {
  const pairs = Object.entries(map).map(([key, value]) => `${key}=${value}`);
  return pairs.length ? pairs.join(',') : '-';
}

/** The value, or `-` for null and undefined. */
export function orDash(value: string | number | null | undefined): string {
  return value === null || value === undefined ? '-' : String(value);
}

/** An ISO timestamp to the second, in UTC: `2026-12-06 01:02:03`. */
export function timestamp(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '-';
}
