import type { PhaseTiming } from '@moat/sdk';

export interface WaterfallRow extends PhaseTiming {
  /** Where the phase starts, as a percentage of the total start time. */
  offsetPct: number;
  /** The phase's share of the total start time, in percent. */
  sharePct: number;
}

/** Lays the start phases end to end (they run one after another) as shares of the total. */
export function waterfall(timings: readonly PhaseTiming[]): { totalMs: number; rows: WaterfallRow[] } {
  const totalMs = timings.reduce((sum, t) => sum + t.ms, 0);
  let elapsed = 0;
  const rows = timings.map((t) => {
    const row = {
      ...t,
      offsetPct: totalMs > 0 ? (elapsed / totalMs) * 100 : 0,
      sharePct: totalMs > 0 ? (t.ms / totalMs) * 100 : 0,
    };
    elapsed += t.ms;
    return row;
  });
  return { totalMs, rows };
}
