/** One column of a table: its header, and the cell of an item. */
export interface Column<T> {
  header: string;
  cell: (item: T) => string;
}

/** Rows of cells under their headers, every column as wide as its widest cell, two spaces apart. */
export function renderTable<T>(columns: readonly Column<T>[], items: readonly T[]): string {
  const rows = [columns.map((column) => column.header), ...items.map((item) => columns.map((column) => column.cell(item)))];
  const widths = columns.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

/** One item as `Header: value` lines, the values aligned. */
export function renderDetails<T>(columns: readonly Column<T>[], item: T): string {
  const width = Math.max(...columns.map((column) => column.header.length)) + 1;
  return columns.map((column) => `${`${column.header}:`.padEnd(width)} ${column.cell(item)}`).join('\n') + '\n';
}
