import { describe, expect, it } from '@jest/globals';
import { waterfall } from './timings';

describe('waterfall', () => {
  it('places each phase after the previous one with its share of the total', () => {
    const { totalMs, rows } = waterfall([
      { phase: 'rootfs', ms: 100 },
      { phase: 'network', ms: 300 },
      { phase: 'vmm', ms: 600 },
    ]);
    expect(totalMs).toBe(1000);
    expect(rows.map((r) => [r.phase, r.offsetPct, r.sharePct])).toEqual([
      ['rootfs', 0, 10],
      ['network', 10, 30],
      ['vmm', 40, 60],
    ]);
  });

  it('handles no time at all without dividing by zero', () => {
    expect(waterfall([{ phase: 'noop', ms: 0 }]).rows[0]).toMatchObject({ offsetPct: 0, sharePct: 0 });
    expect(waterfall([])).toEqual({ totalMs: 0, rows: [] });
  });
});
