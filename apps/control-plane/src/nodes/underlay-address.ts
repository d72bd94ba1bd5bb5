import { isIpv4, type NodeHello } from '@moat/proto';

/** Node.js shows an IPv4 client of a dual-stack socket as an IPv4-mapped IPv6 address. */
const IPV4_MAPPED = '::ffff:';

/**
 * A node's underlay address: the one its hello names (its MOAT_NODE_ADDRESS), else the IPv4
 * address its connection came from. Undefined when neither is IPv4 (the overlay runs over
 * IPv4 only); a node behind a proxy or NAT must name its own.
 */
export function underlayAddressOf(hello: Pick<NodeHello, 'address'>, remoteAddress: string | undefined): string | undefined {
  if (hello.address) return hello.address;
  if (!remoteAddress) return undefined;
  const address = remoteAddress.toLowerCase().startsWith(IPV4_MAPPED) ? remoteAddress.slice(IPV4_MAPPED.length) : remoteAddress;
  return isIpv4(address) ? address : undefined;
}
