import { yieldToEventLoop } from './yield';

/** Keeps `IN (…)` lists well below the bind-parameter limits of SQLite and PostgreSQL. */
export const IN_LIST_CHUNK = 1000;

/** `items` in consecutive slices of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * `items` in consecutive slices of at most `size`, the event loop served before each slice after
 * the first: for long runs of chunked work that SQLite runs synchronously (a loop of awaited
 * queries never yields by itself).
 */
export async function* chunksServingTheLoop<T>(items: readonly T[], size: number): AsyncGenerator<T[]> {
  for (const [index, chunk] of chunks(items, size).entries()) {
    if (index > 0) await yieldToEventLoop();
    yield chunk;
  }
}
