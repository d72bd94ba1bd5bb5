import type { DnsConfig, EgressPolicy, SandboxIsolation } from '@moat/sdk';

/** One term of a facts list; `warn` marks a value an operator should not overlook. */
export interface Fact {
  term: string;
  value: string;
  warn?: boolean;
}

/** How a sandbox's VMM is fenced, in words; a fence that is down is marked. */
export function isolationFacts(isolation: SandboxIsolation): Fact[] {
  return [
    { term: 'Jailed', value: isolation.jailed ? 'yes' : 'no (runs as root in the host namespaces)', warn: !isolation.jailed },
    { term: 'Host uid', value: String(isolation.uid), warn: isolation.uid === 0 },
    { term: 'Seccomp', value: isolation.seccomp ? 'on' : 'off', warn: !isolation.seccomp },
    { term: 'Cgroup', value: isolation.cgroup ?? 'not reported' },
  ];
}

function cidrs(list: readonly string[] | undefined): string {
  return list && list.length > 0 ? list.join(', ') : 'none';
}

/** An egress policy in words: the default first, then the lists (deny wins). */
export function egressFacts(egress: EgressPolicy): Fact[] {
  return [
    { term: 'By default', value: egress.default === 'allow' ? 'allowed' : 'denied' },
    { term: 'Allowed', value: cidrs(egress.allow) },
    { term: 'Denied (wins)', value: cidrs(egress.deny) },
  ];
}

/** Resolver settings in words; what the sandbox does not set is the node's. */
export function dnsFacts(dns: DnsConfig): Fact[] {
  return [
    { term: 'Name servers', value: dns.servers && dns.servers.length > 0 ? dns.servers.join(', ') : "the node's" },
    { term: 'Search domains', value: dns.search && dns.search.length > 0 ? dns.search.join(' ') : 'none' },
    { term: 'Options', value: dns.options && dns.options.length > 0 ? dns.options.join(' ') : 'none' },
  ];
}
