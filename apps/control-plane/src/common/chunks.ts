/** Keeps `IN (…)` lists well below the bind-parameter limits of SQLite and PostgreSQL. */
export const IN_LIST_CHUNK = 1000;

/** `items` in consecutive slices of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
