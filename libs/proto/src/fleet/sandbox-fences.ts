/**
 * A sandbox's network fences and name resolution, as the API takes them and the node enforces
 * them: one definition shared by the control plane (validation) and the node agent (rules).
 */
import { z } from 'zod';

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
const IPV4_CIDR = new RegExp(`^${OCTET}(\\.${OCTET}){3}/(3[0-2]|[12]?\\d)$`);

/** An IPv4 address in dotted-quad form. */
export function isIpv4(value: string): boolean {
  return IPV4.test(value);
}

/** An IPv4 CIDR, `a.b.c.d/n` (host bits may be set; the node masks them). */
export function isIpv4Cidr(value: string): boolean {
  return IPV4_CIDR.test(value);
}

export const ipv4Schema = z.string().refine(isIpv4, 'an IPv4 address');
export const ipv4CidrSchema = z.string().refine(isIpv4Cidr, 'an IPv4 CIDR such as 10.0.0.0/8');

/** Most CIDRs one egress list may hold. */
export const MAX_EGRESS_CIDRS = 64;

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

/** resolv.conf's limits: 3 name servers, 6 search domains. */
export const MAX_DNS_SERVERS = 3;
export const MAX_DNS_SEARCH = 6;
/** Most resolver options one sandbox may set (the API and the desired state). */
export const MAX_DNS_OPTIONS = 8;
const DNS_NAME = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
// `name` or `name:n`: "ndots:2", "timeout:1", "rotate"…; resolvers ignore options they do not
// know, so the grammar is checked, not a list of names.
const RESOLVER_OPTION = /^[a-z][a-z0-9-]{0,31}(:\d{1,3})?$/;

/** A DNS domain as RFC 1123 names it (a search domain); the API checks it and the guest agent again. */
export function isDnsName(value: string): boolean {
  return DNS_NAME.test(value);
}

/** A resolv.conf option (`ndots:2`, `rotate`); the API checks it and the guest agent again. */
export function isResolverOption(value: string): boolean {
  return RESOLVER_OPTION.test(value);
}

/**
 * A sandbox's resolver settings, written into its containers' /etc/resolv.conf: `servers`
 * replace the node's (MOAT_DNS_SERVERS, or its own upstream resolvers minus loopback ones).
 */
export const dnsConfigSchema = z.object({
  servers: z.array(ipv4Schema).min(1).max(MAX_DNS_SERVERS).optional(),
  search: z.array(z.string().regex(DNS_NAME, 'a DNS domain')).max(MAX_DNS_SEARCH).optional(),
  options: z.array(z.string().regex(RESOLVER_OPTION, 'a resolver option such as ndots:2')).max(MAX_DNS_OPTIONS).optional(),
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
