import type { ReactNode } from 'react';

/** The card of an object's details: `children` are its `<dt>`/`<dd>` pairs. */
export function DetailsCard({ id, children }: { id: string; children: ReactNode }) {
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>Details</h2>
      <dl className="facts">{children}</dl>
    </section>
  );
}
