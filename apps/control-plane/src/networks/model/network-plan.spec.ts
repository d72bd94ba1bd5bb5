import { describe, expect, it } from '@jest/globals';
import { formatIpv4, formatIpv4Cidr, parseIpv4Cidr, type Ipv4Cidr } from '@moat/proto';
import { gatewayOf, hostCount, hostWindow, lowestFreeSubnet, lowestFreeVni } from './network-plan';

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

describe('hostWindow', () => {
  const subnet = cidr('10.88.3.0/24');

  it('starts after the gateway, which is the first host, and skips the network address', () => {
    expect(formatIpv4(gatewayOf(subnet))).toBe('10.88.3.1');
    expect(hostWindow(subnet, 0, 3)).toEqual(['10.88.3.2', '10.88.3.3', '10.88.3.4']);
    expect(hostWindow(subnet, 5, 2)).toEqual(['10.88.3.7', '10.88.3.8']);
  });

  it('never gives the broadcast address, wraps around past the last host, and gives each host once', () => {
    const tiny = cidr('10.88.3.16/28');
    expect(hostCount(tiny)).toBe(13);
    expect(hostWindow(tiny, 11, 4)).toEqual(['10.88.3.29', '10.88.3.30', '10.88.3.18', '10.88.3.19']);
    const all = hostWindow(tiny, 0, 100);
    expect(all).toHaveLength(13);
    expect(new Set(all).size).toBe(13);
    expect(all.at(-1)).toBe('10.88.3.30');
  });
});
