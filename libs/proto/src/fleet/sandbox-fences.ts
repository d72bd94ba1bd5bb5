/**
 * A sandbox's network fences and name resolution, as the API takes them and the node enforces
 * them: one definition shared by the control plane (validation) and the node agent (rules).
 */
import { z } from 'zod';
import { DNS_NAME_PATTERN, isIpv4, isIpv4Cidr, RESOLVER_OPTION_PATTERN } from '../common/network-grammar';
import { MAX_DNS_OPTIONS, MAX_DNS_SEARCH, MAX_DNS_SERVERS, MAX_EGRESS_CIDRS } from '../limits/fences.limits';

export const ipv4Schema = z.string().refine(isIpv4, 'an IPv4 address');
export const ipv4CidrSchema = z.string().refine(isIpv4Cidr, 'an IPv4 CIDR such as 10.0.0.0/8');

/**
 * Where a sandbox's own traffic may go, beyond what is always refused (the node itself,
 * 169.254.0.0/16, other tenants): `default` for anything the lists do not name, `allow` and
 * `deny` as CIDRs, `deny` winning. Same-tenant sandboxes are reached whatever the policy.
 */
export const egressPolicySchema = z.object({
  default: z.enum(['allow', 'deny']),
  allow: z.array(ipv4CidrSchema).max(MAX_EGRESS_CIDRS).optional(),
  deny: z.array(ipv4CidrSchema).max(MAX_EGRESS_CIDRS).optional(),
});
export type EgressPolicy = z.infer<typeof egressPolicySchema>;

/**
 * A sandbox's resolver settings, written into its containers' /etc/resolv.conf: `servers`
 * replace the node's (MOAT_DNS_SERVERS, or its own upstream resolvers minus loopback ones).
 */
export const dnsConfigSchema = z.object({
  servers: z.array(ipv4Schema).min(1).max(MAX_DNS_SERVERS).optional(),
  search: z.array(z.string().regex(DNS_NAME_PATTERN, 'a DNS domain')).max(MAX_DNS_SEARCH).optional(),
  options: z.array(z.string().regex(RESOLVER_OPTION_PATTERN, 'a resolver option such as ndots:2')).max(MAX_DNS_OPTIONS).optional(),
});
export type DnsConfig = z.infer<typeof dnsConfigSchema>;

/** How a sandbox's VMM is fenced on its node, as `GET /v1/sandboxes/:id` shows it. */
export const sandboxIsolationSchema = z.object({
  /** Its own uid, namespaces and root, no capabilities (false only under MOAT_JAIL=false). */
  jailed: z.boolean(),
  /** The host uid the VMM runs as; 0 when unjailed. */
  uid: z.number().int().nonnegative(),
  /** QEMU's seccomp filter is on. */
  seccomp: z.boolean(),
  /** Its host cgroup, as /proc/<pid>/cgroup names it. */
  cgroup: z.string().max(512).optional(),
});
export type SandboxIsolation = z.infer<typeof sandboxIsolationSchema>;
