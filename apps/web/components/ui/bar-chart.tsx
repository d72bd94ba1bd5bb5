interface Props {
  /** What the chart shows, also its accessible name. */
  title: string;
  /** One sentence with the numbers that matter, for screen readers and as a caption. */
  summary: string;
  bars: readonly { key: string; value: number; label: string }[];
  format: (value: number) => string;
}

const WIDTH = 320;
const HEIGHT = 96;

/**
 * A bar chart drawn as plain SVG: two charts on one page do not justify a charting library's
 * JavaScript, and the overview has a 300 kB budget. Each bar's tooltip holds its value.
 */
export function BarChart({ title, summary, bars, format }: Props) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const step = bars.length > 0 ? WIDTH / bars.length : WIDTH;
  return (
    <figure className="chart" aria-label={title}>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" className="chart__svg" role="img" aria-label={summary}>
        {bars.map((bar, i) => {
          const h = (bar.value / max) * (HEIGHT - 4);
          return (
            <rect key={bar.key} x={i * step + 1} y={HEIGHT - h} width={Math.max(1, step - 2)} height={h} className="chart__bar">
              <title>{`${bar.label}: ${format(bar.value)}`}</title>
            </rect>
          );
        })}
      </svg>
      <figcaption className="hint">{summary}</figcaption>
    </figure>
  );
}
