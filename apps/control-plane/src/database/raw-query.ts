import type { EntityManager } from 'typeorm';

/** A parameter as the database takes it (no numbers: TypeORM inlines those into SQLite's SQL text). */
export type RawValue = string | Date | null;

/**
 * Properties of an entity as their columns store them (JSON columns as text, dates as the
 * driver wants them), for `rawQuery`.
 */
export function columnValues<E extends object, K extends keyof E & string>(
  manager: EntityManager,
  entity: new () => E,
  source: E,
  properties: readonly K[],
): Record<K, RawValue> {
  const metadata = manager.connection.getMetadata(entity);
  const values = {} as Record<K, RawValue>;
  for (const property of properties) {
    const column = metadata.findColumnWithPropertyName(property);
    if (!column) throw new Error(`${entity.name} has no column ${property}`);
    values[property] = manager.connection.driver.preparePersistentValue(source[property], column) as RawValue;
  }
  return values;
}

/**
 * An entity from a raw row holding all of its columns (e.g. `RETURNING *`), each column
 * converted as TypeORM would when loading it (JSON parsed, dates as Date).
 */
export function hydrate<E extends object>(manager: EntityManager, entity: new () => E, row: Record<string, unknown>): E {
  const target = new entity();
  for (const column of manager.connection.getMetadata(entity).columns) {
    const value = manager.connection.driver.prepareHydratedValue(row[column.databaseName], column) as unknown;
    (target as Record<string, unknown>)[column.propertyName] = value;
  }
  return target;
}

/**
 * Runs a fixed SQL statement with named parameters (`:name`) on SQLite and PostgreSQL alike,
 * without a query builder. For hot paths (one per request): building a find query costs more
 * than running it, while a fixed statement is prepared once and then reused by the driver.
 * Identifiers must be double-quoted (both databases accept that); rows come back raw.
 */
export function rawQuery<T>(manager: EntityManager, sql: string, parameters: Record<string, RawValue>): Promise<T[]> {
  const [query, values] = manager.connection.driver.escapeQueryWithParameters(sql, parameters, {});
  return manager.query<T[]>(query, values);
}
