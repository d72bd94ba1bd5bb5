import { describe, expect, it } from '@jest/globals';
import { parseSince } from './log-since';

const NOW = Date.parse('2026-01-02T15:04:05Z');

describe('parseSince', () => {
  it('takes RFC 3339 times with a zone', () => {
    expect(parseSince('2026-01-02T15:00:00Z', NOW)).toBe(Date.parse('2026-01-02T15:00:00Z'));
    expect(parseSince('2026-01-02T16:00:00.250+01:00', NOW)).toBe(Date.parse('2026-01-02T15:00:00.250Z'));
  });

  it('takes durations back from now, in ms, s, m and h, and sums compound ones', () => {
    expect(parseSince('10s', NOW)).toBe(NOW - 10_000);
    expect(parseSince('5m', NOW)).toBe(NOW - 300_000);
    expect(parseSince('2h', NOW)).toBe(NOW - 7_200_000);
    expect(parseSince('1h30m', NOW)).toBe(NOW - 5_400_000);
    expect(parseSince('250ms', NOW)).toBe(NOW - 250);
  });

  it('never goes before the epoch', () => {
    expect(parseSince('999999999h', NOW)).toBe(0);
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'yesterday', '10', '-5m', '1.5h', '5d', '2026-01-02', '2026-01-02T15:00:00', '2026-13-45T99:00:00Z', '5m ']) {
      expect([bad, parseSince(bad, NOW)]).toEqual([bad, undefined]);
    }
  });
});
