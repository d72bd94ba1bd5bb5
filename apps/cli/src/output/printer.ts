import { renderDetails, renderTable, type Column } from './table';

export const OUTPUT_FORMATS = ['table', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * Writes what a command shows: with `--output json` exactly the API's objects (so scripts can
 * parse them), with `table` the columns a person needs.
 */
export class Printer {
  constructor(
    readonly format: OutputFormat,
    private readonly write: (text: string) => void,
  ) {}

  list<T>(items: readonly T[], columns: readonly Column<T>[]): void {
    this.write(this.format === 'json' ? json(items) : renderTable(columns, items));
  }

  one<T>(item: T, columns: readonly Column<T>[]): void {
    this.write(this.format === 'json' ? json(item) : renderDetails(columns, item));
  }

  /** `value` as JSON, whatever the format: for output that is no table, like exec's. */
  json(value: unknown): void {
    this.write(json(value));
  }

  /** `value` as one line of JSON, whatever the format: for streamed output (NDJSON), like logs'. */
  jsonLine(value: unknown): void {
    this.write(`${JSON.stringify(value)}\n`);
  }

  /** A line for people; nothing with `--output json`, where only the API's objects are written. */
  note(line: string): void {
    if (this.format === 'table') this.write(`${line}\n`);
  }
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
