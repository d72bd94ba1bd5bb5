import type { EntityManager } from 'typeorm';
import type { Driver } from 'typeorm/driver/Driver';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { chunks } from '../common/chunks';

/**
 * A parameter as the database takes it (no numbers: TypeORM inlines those into SQLite's SQL
 * text; booleans are bound, as 1/0 on SQLite).
 */
export type RawValue = string | boolean | Date | null;

/**
 * Properties of an entity as their columns store them (JSON columns as text, dates as the
 * driver wants them), for `rawQuery`. Booleans stay booleans: SQLite's driver would make them
 * numbers, which `rawQuery` would then inline rather than bind.
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
    const value = source[property];
    values[property] = typeof value === 'boolean' ? value : (manager.connection.driver.preparePersistentValue(value, column) as RawValue);
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

/** Parameters per statement, well below every database's limit. */
const MAX_PARAMETERS = 2_000;

/**
 * Updates many rows of `table` by id, one statement per chunk instead of one per row: the rows
 * and their values are a VALUES list the table is joined with (`WITH … UPDATE … FROM`, which
 * SQLite and PostgreSQL both take), so each column of the rows' `values` gets the row's own
 * value, and each of `shared` one value for all. The VALUES list is typed as text on
 * PostgreSQL: per-row values must be for text or varchar columns. `where` (SQL, on the table's
 * columns) narrows which of the rows may change.
 */
export async function updateRowsById(
  manager: EntityManager,
  table: string,
  rows: readonly RowUpdate[],
  { shared = {}, where }: { shared?: Record<string, RawValue>; where?: string } = {},
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0].values);
  const names = ['"row_id"', ...columns.map((_, c) => `"c${c}"`)].join(', ');
  const assignments = [
    ...columns.map((column, c) => `"${column}" = "v"."c${c}"`),
    ...Object.keys(shared).map((column) => `"${column}" = :shared_${column}`),
  ].join(', ');
  const condition = `"${table}"."id" = "v"."row_id"${where ? ` AND (${where})` : ''}`;
  for (const chunk of chunks(rows, Math.max(1, Math.floor(MAX_PARAMETERS / (columns.length + 1))))) {
    const parameters: Record<string, RawValue> = {};
    for (const [column, value] of Object.entries(shared)) parameters[`shared_${column}`] = value;
    const tuples = chunk.map((row, i) => {
      parameters[`id${i}`] = row.id;
      columns.forEach((column, c) => (parameters[`v${i}_${c}`] = row.values[column]));
      return `(:id${i}${columns.map((_, c) => `, :v${i}_${c}`).join('')})`;
    });
    await rawQuery(manager, `WITH "v"(${names}) AS (VALUES ${tuples.join(', ')}) UPDATE "${table}" SET ${assignments} FROM "v" WHERE ${condition}`, parameters);
  }
}

/**
 * Inserts entities in multi-row statements whose values are bound as the driver's own
 * placeholders, without a query builder: on a fleet's batches TypeORM's insert builder spent
 * more time naming, collecting and substituting its parameters than the database took to store
 * the rows (150 µs a sandbox row). Every column but generated ones is written; a property left
 * undefined gets its column's default, or NULL.
 */
export async function insertRows<E extends object>(manager: EntityManager, entity: new () => E, rows: readonly E[]): Promise<void> {
  if (rows.length === 0) return;
  const { driver } = manager.connection;
  const metadata = manager.connection.getMetadata(entity);
  const columns = metadata.columns.filter((column) => !column.isGenerated);
  const names = columns.map((column) => `"${column.databaseName}"`).join(', ');
  const numbered = driver.options.type === 'postgres';
  for (const chunk of chunks(rows, Math.max(1, Math.floor(MAX_PARAMETERS / columns.length)))) {
    const values: unknown[] = [];
    const tuples = chunk.map((row) => {
      const placeholders = columns.map((column) => {
        values.push(persistentValue(driver, column, row));
        return numbered ? `$${values.length}` : '?';
      });
      return `(${placeholders.join(', ')})`;
    });
    await manager.query(`INSERT INTO "${metadata.tableName}" (${names}) VALUES ${tuples.join(', ')}`, values);
  }
}

/** A property's value as its column stores it; undefined takes the column's default, else NULL. */
function persistentValue(driver: Driver, column: ColumnMetadata, row: object): unknown {
  let value: unknown = column.getEntityValue(row);
  if (value === undefined) {
    if (typeof column.default === 'function') throw new Error(`${column.entityMetadata.name}.${column.propertyName}: a default made by the database must be given a value`);
    value = column.default ?? null;
  }
  return driver.preparePersistentValue(value, column);
}
