import { describe, expect, it } from '@jest/globals';
import { formatIpv4, formatIpv4Cidr, parseIpv4Cidr, type Ipv4Cidr } from '../../common/ipv4';
import { freeAddresses, gatewayOf, lowestFreeSubnet, lowestFreeVni } from './network-plan';

function cidr(text: string): Ipv4Cidr {
  const parsed = parseIpv4Cidr(text);
  if (!parsed) throw new Error(`bad CIDR ${text}`);
  return parsed;
}

describe('lowestFreeVni', () => {
  it('starts at 1 and fills the lowest hole', () => {
    expect(lowestFreeVni([])).toBe(1);
    expect(lowestFreeVni([1, 2, 4])).toBe(3);
    expect(lowestFreeVni([2, 3])).toBe(1);
  });
});

describe('lowestFreeSubnet', () => {
  const pool = cidr('10.88.0.0/16');

  it('gives the lowest /24 of the pool not taken', () => {
    expect(formatIpv4Cidr(lowestFreeSubnet(pool, 24, []) as Ipv4Cidr)).toBe('10.88.0.0/24');
    expect(formatIpv4Cidr(lowestFreeSubnet(pool, 24, ['10.88.0.0/24', '10.88.2.0/24']) as Ipv4Cidr)).toBe('10.88.1.0/24');
  });

  it('cuts subnets of the configured size', () => {
    expect(formatIpv4Cidr(lowestFreeSubnet(pool, 28, ['10.88.0.0/28']) as Ipv4Cidr)).toBe('10.88.0.16/28');
  });

  it('says so when the pool is exhausted', () => {
    const small = cidr('10.88.0.0/23');
    expect(lowestFreeSubnet(small, 24, ['10.88.0.0/24', '10.88.1.0/24'])).toBeUndefined();
    expect(formatIpv4Cidr(lowestFreeSubnet(small, 24, ['10.88.1.0/24']) as Ipv4Cidr)).toBe('10.88.0.0/24');
  });
});

describe('freeAddresses', () => {
  const subnet = cidr('10.88.3.0/24');

  it('skips the network address and the gateway, which is the first host', () => {
    expect(formatIpv4(gatewayOf(subnet))).toBe('10.88.3.1');
    expect(freeAddresses(subnet, new Set(), 3)).toEqual(['10.88.3.2', '10.88.3.3', '10.88.3.4']);
  });

  it('gives the lowest addresses not in use, reusing freed ones', () => {
    expect(freeAddresses(subnet, new Set(['10.88.3.2', '10.88.3.4']), 2)).toEqual(['10.88.3.3', '10.88.3.5']);
  });

  it('never gives the broadcast address, and fewer than asked when the subnet runs out', () => {
    const tiny = cidr('10.88.3.16/28');
    const all = freeAddresses(tiny, new Set(), 100);
    expect(all).toHaveLength(13);
    expect(all[0]).toBe('10.88.3.18');
    expect(all.at(-1)).toBe('10.88.3.30');
    expect(freeAddresses(tiny, new Set(all), 1)).toEqual([]);
  });
});
