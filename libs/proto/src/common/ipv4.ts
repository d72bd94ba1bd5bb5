/** IPv4 addresses and networks as numbers, for whoever plans or checks them (the control plane's tenant networks, the node's bridges). */
import { isIpv4 } from './network-grammar';

/** An IPv4 network: its first address as a 32-bit unsigned number and its prefix length. */
export interface Ipv4Cidr {
  base: number;
  prefix: number;
}

/** A dotted quad (the grammar of {@link isIpv4}) as a 32-bit unsigned number; undefined if it is not one. */
export function parseIpv4(text: string): number | undefined {
  if (!isIpv4(text)) return undefined;
  return text.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** `a.b.c.d/n` with no host bits set; undefined if it is not one. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const [address, length, ...rest] = text.split('/');
  if (rest.length > 0 || length === undefined || !/^\d{1,2}$/.test(length)) return undefined;
  const base = parseIpv4(address);
  const prefix = Number(length);
  if (base === undefined || prefix > 32 || base % cidrSize(prefix) !== 0) return undefined;
  return { base, prefix };
}

export function formatIpv4Cidr(cidr: Ipv4Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.prefix}`;
}

/** How many addresses a /prefix holds (numbers, not bit operations: JavaScript's are signed 32-bit). */
export function cidrSize(prefix: number): number {
  return 2 ** (32 - prefix);
}
