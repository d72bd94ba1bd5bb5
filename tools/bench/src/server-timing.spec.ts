import { describe, expect, it } from '@jest/globals';
import { parseServerTiming } from './server-timing';

describe('parseServerTiming', () => {
  it('reads each metric with a duration, and nothing from an absent header', () => {
    expect(parseServerTiming('lookup;dur=1.2, node;desc="x";dur=30.0, cache')).toEqual({ lookup: 1.2, node: 30 });
    expect(parseServerTiming(null)).toEqual({});
  });
});
