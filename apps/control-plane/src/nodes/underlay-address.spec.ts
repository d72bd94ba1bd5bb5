import { describe, expect, it } from '@jest/globals';
import { underlayAddressOf } from './underlay-address';

describe('underlayAddressOf', () => {
  it('prefers the address the hello names', () => {
    expect(underlayAddressOf({ address: '192.168.1.7' }, '10.0.0.9')).toBe('192.168.1.7');
  });

  it('else takes the connection’s IPv4 address, IPv4-mapped or not', () => {
    expect(underlayAddressOf({}, '::ffff:10.0.0.9')).toBe('10.0.0.9');
    expect(underlayAddressOf({}, '10.0.0.9')).toBe('10.0.0.9');
  });

  it('knows none from an IPv6 connection or none at all', () => {
    expect(underlayAddressOf({}, '::1')).toBeUndefined();
    expect(underlayAddressOf({}, 'fe80::1')).toBeUndefined();
    expect(underlayAddressOf({}, undefined)).toBeUndefined();
  });
});
