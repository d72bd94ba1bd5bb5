import { EntityManager, ObjectLiteral, SelectQueryBuilder } from 'typeorm';

/**
 * Takes a row lock (`FOR UPDATE`) where the database has one. PostgreSQL needs it so that
 * replicas sharing the database serialize on the row; SQLite has no row locks, but its
 * writers are serialized anyway.
 */
export function forUpdate<T extends ObjectLiteral>(
  manager: EntityManager,
  query: SelectQueryBuilder<T>,
): SelectQueryBuilder<T> {
  return manager.connection.driver.options.type === 'postgres' ? query.setLock('pessimistic_write') : query;
}
