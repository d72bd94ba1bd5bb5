import type { ReactNode } from 'react';

/** A column header: `optional` columns are hidden on narrow screens; `sort` is the column's current order, if sorted by it. */
export interface DataTableColumn {
  label: ReactNode;
  optional?: boolean;
  sort?: 'ascending' | 'descending';
}

/**
 * A scrollable table named by its caption (tests and screen readers find it by that name);
 * `children` are its body rows.
 */
export function DataTable({
  caption,
  columns,
  className,
  children,
}: {
  caption: ReactNode;
  columns: readonly DataTableColumn[];
  className?: string;
  children: ReactNode;
}) {
  return (
    <div className="table-scroll">
      <table className={className ? `table ${className}` : 'table'}>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((column, index) => (
              <th key={index} scope="col" className={column.optional ? 'optional' : undefined} aria-sort={column.sort}>
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
