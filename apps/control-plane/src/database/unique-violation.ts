import { QueryFailedError } from 'typeorm';

/** Whether a query failed on a unique index, in PostgreSQL's or SQLite's words. */
export function isUniqueViolation(err: unknown): boolean {
  if (!(err instanceof QueryFailedError)) return false;
  const code = (err.driverError as { code?: unknown } | undefined)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
