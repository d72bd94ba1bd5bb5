import type { EntityManager } from 'typeorm';

/**
 * Whether this transaction holds the PostgreSQL advisory lock `key` (taken until it ends), so
 * one control-plane replica at a time runs a loop; always true on SQLite (one process).
 */
export async function holdsAdvisoryLock(manager: EntityManager, key: number): Promise<boolean> {
  if (manager.connection.driver.options.type !== 'postgres') return true;
  const rows = await manager.query<{ locked: boolean }[]>('SELECT pg_try_advisory_xact_lock($1) AS locked', [key]);
  return rows[0]?.locked === true;
}
