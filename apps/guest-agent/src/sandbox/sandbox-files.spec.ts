import { describe, expect, it } from '@jest/globals';
import { AgentErrorCode } from '../errors/agent.error';
import { hostnameFile, hostsFile, resolvConfFile } from './sandbox-files';

const none = { servers: [], search: [], options: [] };
const invalidArgument = expect.objectContaining({ code: AgentErrorCode.INVALID_ARGUMENT });

describe('resolvConfFile', () => {
  it('writes nameserver lines, one search line and one options line', () => {
    expect(
      resolvConfFile({ servers: ['10.99.0.53', '2001:db8::53'], search: ['example.internal', 'svc.example'], options: ['ndots:2', 'timeout:1', 'rotate', 'edns0'] }),
    ).toBe('nameserver 10.99.0.53\nnameserver 2001:db8::53\nsearch example.internal svc.example\noptions ndots:2 timeout:1 rotate edns0\n');
  });

  it('leaves out what was not asked for', () => {
    expect(resolvConfFile({ ...none, servers: ['1.1.1.1'] })).toBe('nameserver 1.1.1.1\n');
    expect(resolvConfFile({ ...none, search: ['corp'] })).toBe('search corp\n');
    expect(resolvConfFile(none)).toBe('');
  });

  it.each([
    ['a server that is a name', { ...none, servers: ['dns.google'] }],
    ['a server with a trailing newline', { ...none, servers: ['1.1.1.1\n'] }],
    ['a server that injects a line', { ...none, servers: ['1.1.1.1\nnameserver 6.6.6.6'] }],
    ['an out-of-range address', { ...none, servers: ['10.0.0.256'] }],
    ['an IPv6 zone', { ...none, servers: ['fe80::1%eth0'] }],
    ['an empty server', { ...none, servers: [''] }],
    ['a search domain with a space', { ...none, search: ['a.example b.example'] }],
    ['a search domain that injects a line', { ...none, search: ['example.com\nnameserver 6.6.6.6'] }],
    ['a search domain with an underscore', { ...none, search: ['_srv.example'] }],
    ['a search label of 64 characters', { ...none, search: [`${'a'.repeat(64)}.example`] }],
    ['an option that injects a line', { ...none, options: ['ndots:2\nnameserver 6.6.6.6'] }],
    ['an option with a space', { ...none, options: ['ndots: 2'] }],
    ['an option with a non-numeric value', { ...none, options: ['ndots:x'] }],
    ['an option in capitals', { ...none, options: ['ROTATE'] }],
    ['too many servers', { ...none, servers: Array.from({ length: 17 }, (_, i) => `10.0.0.${i + 1}`) }],
  ])('rejects %s as INVALID_ARGUMENT', (_case, dns) => {
    expect(() => resolvConfFile(dns)).toThrow(invalidArgument);
  });
});

describe('hostsFile', () => {
  it('names the hostname on each IPv4 address of the guest NIC', () => {
    expect(hostsFile('sb-1', ['10.88.0.5', '192.168.7.2'])).toBe(
      '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n10.88.0.5 sb-1\n192.168.7.2 sb-1\n',
    );
  });

  it('names it on 127.0.1.1 when the guest has no address', () => {
    expect(hostsFile('sb-1', [])).toBe('127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n127.0.1.1 sb-1\n');
  });
});

describe('hostnameFile', () => {
  it('is the hostname and a newline', () => {
    expect(hostnameFile('sb-1')).toBe('sb-1\n');
  });
});
