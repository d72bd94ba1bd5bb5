/** Shown in place of a list that is loading, could not be loaded, or is empty. */
export function LoadStatus({ loaded, error, empty }: { loaded: boolean; error: string | null; empty: string | null }) {
  if (error) {
    return (
      <p className="banner banner--inline" role="alert">
        {error}
      </p>
    );
  }
  if (!loaded) return <p role="status">Loading…</p>;
  return empty ? <p className="hint">{empty}</p> : null;
}
