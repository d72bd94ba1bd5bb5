import { describe, expect, it } from '@jest/globals';
import { formatMs, percentile, summarize } from './stats';

describe('stats', () => {
  it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(95);
    expect(percentile([7], 95)).toBe(7);
  });

  it('summarizes unsorted samples', () => {
    expect(summarize([30, 10, 20])).toEqual({ n: 3, min: 10, p50: 20, p95: 30, max: 30, mean: 20 });
  });

  it('refuses to summarize nothing', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
  });

  it('formats durations', () => {
    expect(formatMs(2345)).toBe('2.35 s');
    expect(formatMs(12.4)).toBe('12 ms');
  });
});
