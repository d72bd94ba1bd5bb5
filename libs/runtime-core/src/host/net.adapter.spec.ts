import { describe, expect, it } from '@jest/globals';
import { linkNames } from './net.adapter';

describe('linkNames', () => {
  it('reads the interface names of a /proc/net/dev listing, headers skipped', () => {
    const listing = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:   38697     525    0    0    0     0          0         0    38697     525    0    0    0     0       0          0',
      'moat12:0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0',
      '',
    ].join('\n');
    expect(linkNames(listing)).toEqual(['lo', 'moat12']);
  });
});
