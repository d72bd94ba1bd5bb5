/** "used / total" with a small bar; the bar only repeats the text, so it is hidden from AT. */
export function Usage({ used, total, format }: { used: number; total: number; format?: (n: number) => string }) {
  const show = format ?? String;
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  return (
    <span className="usage">
      <span>
        {show(used)} / {show(total)}
      </span>
      <span className="usage__track" aria-hidden="true">
        <span className={pct >= 90 ? 'usage__fill usage__fill--high' : 'usage__fill'} style={{ width: `${pct}%` }} />
      </span>
    </span>
  );
}
