/**
 * The largest value an `integer` column holds (PostgreSQL's is 32-bit; SQLite's would take
 * more). A request naming a larger version or id cannot mean a stored row, and PostgreSQL
 * refuses to even compare one with the column.
 */
export const MAX_INTEGER_COLUMN = 2_147_483_647;
