/**
 * A `Server-Timing` header value (W3C Server Timing) from named durations in ms:
 * `{lookupMs: 1.2, nodeMs: 30}` → `lookup;dur=1.2, node;dur=30.0`. Names drop their `Ms`.
 */
export function serverTiming<T extends { [K in keyof T]?: number }>(durations: T): string {
  return Object.entries<number | undefined>(durations)
    .filter((entry): entry is [string, number] => entry[1] !== undefined && Number.isFinite(entry[1]))
    .map(([name, ms]) => `${name.replace(/Ms$/, '')};dur=${ms.toFixed(1)}`)
    .join(', ');
}
