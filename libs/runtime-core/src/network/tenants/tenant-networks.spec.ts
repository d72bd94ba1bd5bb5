import { describe, expect, it } from '@jest/globals';
import { ipString, parseCidr } from './tenant-networks';

describe('tenant subnets', () => {
  it('parses and masks an IPv4 CIDR', () => {
    expect(parseCidr('10.88.7.9/16')).toEqual({ base: parseCidr('10.88.0.0/16').base, prefix: 16 });
    expect(ipString(parseCidr('10.88.0.0/16').base + 3 * 256 + 1)).toBe('10.88.3.1');
    expect(() => parseCidr('10.300.0.0/16')).toThrow(/not an IPv4 CIDR/);
  });
});
