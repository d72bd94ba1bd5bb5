import { cidrSize, formatIpv4, type Ipv4Cidr, MAX_VNI, parseIpv4Cidr } from '@moat/proto';

/** The lowest VNI from 1 up that no tenant holds; undefined when all 2^24 - 1 are taken. */
export function lowestFreeVni(used: Iterable<number>): number | undefined {
  const taken = new Set(used);
  for (let vni = 1; vni <= MAX_VNI; vni += 1) if (!taken.has(vni)) return vni;
  return undefined;
}

/** The lowest /`prefix` of the pool that is not in `used`; undefined when the pool is full. */
export function lowestFreeSubnet(pool: Ipv4Cidr, prefix: number, used: Iterable<string>): Ipv4Cidr | undefined {
  const taken = new Set<number>();
  for (const subnet of used) {
    const parsed = parseIpv4Cidr(subnet);
    if (parsed) taken.add(parsed.base);
  }
  const step = cidrSize(prefix);
  for (let base = pool.base; base < pool.base + cidrSize(pool.prefix); base += step) {
    if (!taken.has(base)) return { base, prefix };
  }
  return undefined;
}

/**
 * The gateway every node's tenant bridge carries: the subnet's first host (an anycast gateway,
 * so a sandbox's routed traffic leaves through its own node).
 */
export function gatewayOf(subnet: Ipv4Cidr): number {
  return subnet.base + 1;
}

/** How many sandbox addresses a subnet holds: all but the network address, the gateway and the broadcast. */
export function hostCount(subnet: Ipv4Cidr): number {
  return Math.max(0, cidrSize(subnet.prefix) - 3);
}

/**
 * `count` sandbox addresses of the subnet from the `from`th on (0 is the host after the
 * gateway), wrapping around past the last: the window a next-fit search looks at. Never the
 * network address, the gateway or the broadcast.
 */
export function hostWindow(subnet: Ipv4Cidr, from: number, count: number): string[] {
  const hosts = hostCount(subnet);
  const first = gatewayOf(subnet) + 1;
  return Array.from({ length: Math.min(count, hosts) }, (_, i) => formatIpv4(first + ((from + i) % hosts)));
}
