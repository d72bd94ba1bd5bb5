import { describe, expect, it } from '@jest/globals';
import { formatIpv4 } from '@moat/proto';
import { canonicalCidr, parseCidr } from './tenant-networks';

describe('tenant subnets', () => {
  it('parses and masks an IPv4 CIDR', () => {
    expect(parseCidr('10.88.7.9/16')).toEqual({ base: parseCidr('10.88.0.0/16').base, prefix: 16 });
    expect(formatIpv4(parseCidr('10.88.0.0/16').base + 3 * 256 + 1)).toBe('10.88.3.1');
    expect(canonicalCidr('10.1.2.3/8')).toBe('10.0.0.0/8');
    expect(() => parseCidr('10.300.0.0/16')).toThrow(/not an IPv4 CIDR/);
  });
});
