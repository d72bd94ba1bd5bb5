import { isIPv4 } from 'node:net';

/**
 * Whether a URL's host (or a registry's, `[::1]` bracketed or not) names this host's loopback:
 * `localhost`, `::1` or 127.0.0.0/8, whose traffic never leaves the host.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}
