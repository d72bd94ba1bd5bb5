/** A state in words, coloured by its kind; the text alone carries the meaning. */
export function StateBadge({ state }: { state: string }) {
  return <span className={`badge badge--${state}`}>{state}</span>;
}
