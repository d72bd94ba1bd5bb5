import type { EntityManager } from 'typeorm';
import { chunks } from '../common/chunks';

/** A parameter as the database takes it (no numbers: TypeORM inlines those into SQLite's SQL text). */
export type RawValue = string | Date | null;

/**
 * Properties of an entity as their columns store them (JSON columns as text, dates as the
 * driver wants them), for `rawQuery`.
 */
export function columnValues<E extends object, K extends keyof E & string>(
  manager: EntityManager,
  entity: new () => E,
  source: Pick<E, K>,
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

/** A row to update: its id and its own values, by column. */
export interface RowUpdate {
  id: string;
  values: Record<string, RawValue>;
}

/** Parameters per statement, well below every database's limit (SQLite repeats reused ones). */
const MAX_PARAMETERS = 2_000;

/**
 * Updates many rows of `table` by id, one statement per chunk instead of one per row: each
 * column of the rows' `values` gets the row's own value (a CASE over the ids; text and varchar
 * columns only, as PostgreSQL types the CASE as text), each of `shared` one value for all.
 * `where` (SQL) narrows which of the rows may change.
 */
export async function updateRowsById(
  manager: EntityManager,
  table: string,
  rows: readonly RowUpdate[],
  { shared = {}, where }: { shared?: Record<string, RawValue>; where?: string } = {},
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0].values);
  const rowsPerStatement = Math.max(1, Math.floor(MAX_PARAMETERS / (2 * columns.length + 1)));
  for (const chunk of chunks(rows, rowsPerStatement)) {
    const parameters: Record<string, RawValue> = {};
    chunk.forEach((row, i) => {
      parameters[`id${i}`] = row.id;
      columns.forEach((column, c) => (parameters[`v${i}_${c}`] = row.values[column]));
    });
    const assignments = columns.map((column, c) => `"${column}" = CASE "id" ${chunk.map((_, i) => `WHEN :id${i} THEN :v${i}_${c}`).join(' ')} END`);
    for (const [column, value] of Object.entries(shared)) {
      parameters[`shared_${column}`] = value;
      assignments.push(`"${column}" = :shared_${column}`);
    }
    const ids = chunk.map((_, i) => `:id${i}`).join(', ');
    await rawQuery(manager, `UPDATE "${table}" SET ${assignments.join(', ')} WHERE "id" IN (${ids})${where ? ` AND (${where})` : ''}`, parameters);
  }
}
