import { formatDuration } from '@/lib/format';
import { waterfall } from '@/lib/timings';
import type { PhaseTiming } from '@moat/sdk';

/** Start phases laid end to end; the text carries every number, the bars show the shape. */
export function TimingsWaterfall({ timings }: { timings: readonly PhaseTiming[] }) {
  if (timings.length === 0) return <p className="hint">No start timings reported yet.</p>;
  const { totalMs, rows } = waterfall(timings);
  return (
    <>
      <ol className="waterfall">
        {rows.map((row, index) => (
          <li key={`${index}-${row.phase}`} className="waterfall__row">
            <span className="waterfall__phase mono">{row.phase}</span>
            <span className="waterfall__track" aria-hidden="true">
              <span className="waterfall__bar" style={{ marginLeft: `${row.offsetPct}%`, width: `${row.sharePct}%` }} />
            </span>
            <span className="waterfall__ms">
              {formatDuration(row.ms)} <span className="hint">({Math.round(row.sharePct)}%)</span>
            </span>
          </li>
        ))}
      </ol>
      <p className="waterfall__total">Total {formatDuration(totalMs)}</p>
    </>
  );
}
