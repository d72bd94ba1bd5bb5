import Link from 'next/link';
import type { ReactNode } from 'react';
import { listByName } from '@/lib/fleet/fleet.reducer';
import { DataTable, type DataTableColumn } from './data-table';
import { LoadStatus } from './load-status';

/**
 * A page listing one collection of named items: a table of them by name (captioned like the
 * page) and its load status in the main column, the form that adds to it beside them.
 */
export function CollectionPage<T extends { name: string }>({
  title,
  collection,
  columns,
  empty,
  row,
  form,
}: {
  title: string;
  collection: { items: Readonly<Record<string, T>>; loaded: boolean; error: string | null };
  columns: readonly DataTableColumn[];
  /** Shown when there are no items. */
  empty: string;
  row: (item: T) => ReactNode;
  form: ReactNode;
}) {
  const list = listByName(collection.items);
  return (
    <>
      <h1>{title}</h1>
      <div className="grid grid--main-side">
        <section className="card card--flush">
          <DataTable caption={title} columns={columns}>
            {list.map(row)}
          </DataTable>
          <LoadStatus loaded={collection.loaded} error={collection.error} empty={list.length === 0 ? empty : null} />
        </section>
        {form}
      </div>
    </>
  );
}

/** A collection page row's header cell: the item's name, linking to the item's own page. */
export function NameCell({ href, name }: { href: string; name: string }) {
  return (
    <th scope="row">
      <Link href={href}>{name}</Link>
    </th>
  );
}
