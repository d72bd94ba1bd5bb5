import { describe, expect, it } from '@jest/globals';
import { cpuSecondsFromStat, rssBytesFromStatus, sampleProcess } from './process-stats';

describe('process stats', () => {
  it('reads utime + stime even when the command name has spaces and parentheses', () => {
    const stat = '4242 (node (main) x) S 1 4242 4242 0 -1 4194304 1000 0 0 0 250 130 0 0 20 0 11 0 100 0 0';
    expect(cpuSecondsFromStat(stat)).toBeCloseTo(3.8);
  });

  it('reads VmRSS in bytes', () => {
    expect(rssBytesFromStatus('Name:\tnode\nVmRSS:\t  123456 kB\nThreads:\t11\n')).toBe(123456 * 1024);
    expect(() => rssBytesFromStatus('Name:\tnode\n')).toThrow(/VmRSS/);
  });

  it('samples this very process', () => {
    const sample = sampleProcess(process.pid);
    expect(sample.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(sample.cpuSeconds).toBeGreaterThan(0);
  });
});
