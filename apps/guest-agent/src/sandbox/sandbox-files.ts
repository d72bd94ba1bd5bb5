import { isIP } from 'node:net';
import { isDnsName, isResolverOption } from '@moat/proto';
import { AgentError, AgentErrorCode } from '../errors/agent.error';

/** The files Docker and CRI give every container, written once per sandbox and bound into each container. */
export const SANDBOX_FILES = [
  { name: 'hostname', destination: '/etc/hostname' },
  { name: 'hosts', destination: '/etc/hosts' },
  { name: 'resolv.conf', destination: '/etc/resolv.conf' },
] as const;

export type SandboxFileName = (typeof SANDBOX_FILES)[number]['name'];

export interface DnsSettings {
  servers: readonly string[];
  search: readonly string[];
  options: readonly string[];
}

// RFC 1123 labels, at most HOST_NAME_MAX (64) characters in all.
const HOSTNAME_PATTERN = /^(?=.{1,64}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
// An IP address in plain form: no IPv6 zone ("%eth0"), nothing a resolver line could carry besides.
const IP_CHARACTERS = /^[0-9A-Fa-f.:]+$/;
/** Bounds what one request can make the agent write; resolvers use the first 3 servers and ignore the rest. */
const MAX_DNS_ENTRIES = 16;

export function isValidHostname(hostname: string): boolean {
  return HOSTNAME_PATTERN.test(hostname);
}

/** `hostname` as /etc/hostname holds it; the caller has validated it. */
export function hostnameFile(hostname: string): string {
  return `${hostname}\n`;
}

/**
 * /etc/hosts: the loopback names, and the hostname on each of the guest NIC's IPv4 addresses,
 * or on 127.0.1.1 (Debian's convention) when the guest has no network.
 */
export function hostsFile(hostname: string, ipv4Addresses: readonly string[]): string {
  const own = ipv4Addresses.filter((address) => isIP(address) === 4);
  const lines = [
    '127.0.0.1 localhost',
    '::1 localhost ip6-localhost ip6-loopback',
    ...(own.length > 0 ? own : ['127.0.1.1']).map((address) => `${address} ${hostname}`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * /etc/resolv.conf from the request's servers, search domains and options. Every entry is
 * checked against a grammar without whitespace, so no entry can add a line of its own.
 */
export function resolvConfFile(dns: DnsSettings): string {
  checkEntries('DNS server', dns.servers, (server) => isIP(server) !== 0 && IP_CHARACTERS.test(server));
  checkEntries('DNS search domain', dns.search, isDnsName);
  checkEntries('resolver option', dns.options, isResolverOption);
  const lines = dns.servers.map((server) => `nameserver ${server}`);
  if (dns.search.length > 0) lines.push(`search ${dns.search.join(' ')}`);
  if (dns.options.length > 0) lines.push(`options ${dns.options.join(' ')}`);
  return lines.map((line) => `${line}\n`).join('');
}

function checkEntries(kind: string, entries: readonly string[], valid: (entry: string) => boolean): void {
  if (entries.length > MAX_DNS_ENTRIES) {
    throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `at most ${MAX_DNS_ENTRIES} ${kind} entries, got ${entries.length}`);
  }
  const bad = entries.find((entry) => !valid(entry));
  if (bad !== undefined) throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `invalid ${kind} ${JSON.stringify(bad)}`);
}
