import { describe, expect, it } from '@jest/globals';
import { refusal as refusalOf, validated as validatedAs } from '../../common/testing/validation';
import { CreateSandboxDto } from './create-sandbox.dto';
import { dnsConfigOf, egressPolicyOf } from './sandbox-fences.dto';

const validated = (body: object) => validatedAs(CreateSandboxDto, body);
const refusal = (body: object) => refusalOf(CreateSandboxDto, body);

describe('egress and dns on a new sandbox', () => {
  it('takes well-formed settings and keeps only the fields given', async () => {
    const dto = await validated({
      egress: { default: 'deny', allow: ['10.0.0.0/8', '192.0.2.7/32'], deny: ['10.9.0.0/16'] },
      dns: { servers: ['192.0.2.53'], search: ['svc.example.com', 'example'], options: ['ndots:2', 'edns0'] },
    });
    expect(egressPolicyOf(dto.egress!)).toEqual({ default: 'deny', allow: ['10.0.0.0/8', '192.0.2.7/32'], deny: ['10.9.0.0/16'] });
    expect(dnsConfigOf(dto.dns!)).toEqual({ servers: ['192.0.2.53'], search: ['svc.example.com', 'example'], options: ['ndots:2', 'edns0'] });
    const bare = await validated({ egress: { default: 'allow' }, dns: { search: [] } });
    expect(egressPolicyOf(bare.egress!)).toStrictEqual({ default: 'allow' });
    expect(dnsConfigOf(bare.dns!)).toStrictEqual({ search: [] });
  });

  it('names the entry that is not a CIDR or an address', async () => {
    expect(await refusal({ egress: { default: 'allow', allow: ['10.0.0.0/8', '10.0.0.0/33'] } })).toBe(
      'egress.allow: each value in allow must be an IPv4 CIDR such as 10.0.0.0/8 ("10.0.0.0/33" is not)',
    );
    expect(await refusal({ egress: { default: 'allow', deny: ['10.0.0.1'] } })).toMatch(/^egress\.deny: .*"10\.0\.0\.1" is not/);
    expect(await refusal({ egress: { default: 'allow', deny: [8] } })).toMatch(/^egress\.deny: .*a non-string is not/);
    expect(await refusal({ dns: { servers: ['192.0.2.53', '256.0.0.1'] } })).toBe(
      'dns.servers: each value in servers must be an IPv4 address such as 192.0.2.53 ("256.0.0.1" is not)',
    );
    expect(await refusal({ dns: { servers: ['10.0.0.0/8'] } })).toMatch(/^dns\.servers: /);
    expect(await refusal({ dns: { search: ['-bad-.example'] } })).toMatch(/^dns\.search: .*DNS domain.*"-bad-\.example"/);
    expect(await refusal({ dns: { options: ['ndots 2'] } })).toMatch(/^dns\.options: .*resolver option.*"ndots 2"/);
  });

  it('refuses an unknown or missing default, too many entries and unknown fields', async () => {
    expect(await refusal({ egress: { default: 'block' } })).toMatch(/^egress\.default: default must be one of the following values: allow, deny/);
    expect(await refusal({ egress: { allow: ['10.0.0.0/8'] } })).toMatch(/^egress\.default: /);
    const cidrs = Array.from({ length: 65 }, (_, i) => `10.${i}.0.0/16`);
    expect(await refusal({ egress: { default: 'deny', allow: cidrs } })).toMatch(/^egress\.allow: allow must contain no more than 64 elements/);
    expect(await refusal({ dns: { servers: ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'] } })).toMatch(
      /^dns\.servers: servers must contain no more than 3 elements/,
    );
    expect(await refusal({ dns: { servers: [] } })).toMatch(/^dns\.servers: servers must contain at least 1 elements/);
    expect(await refusal({ dns: { search: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] } })).toMatch(/^dns\.search: search must contain no more than 6 elements/);
    expect(await refusal({ egress: { default: 'deny', ports: [80] } })).toMatch(/egress\.ports: property ports should not exist/);
    expect(await refusal({ egress: 'deny' })).toMatch(/egress/);
  });

  it('refuses egress on a sandbox without a network interface, saying why', async () => {
    expect(await refusal({ network: false, egress: { default: 'deny' } })).toBe(
      'egress cannot be set with network: false: a sandbox without a network interface sends no traffic to fence',
    );
    await expect(validated({ network: true, egress: { default: 'deny' } })).resolves.toBeInstanceOf(CreateSandboxDto);
    await expect(validated({ network: false, dns: { servers: ['192.0.2.53'] } })).resolves.toBeInstanceOf(CreateSandboxDto);
  });
});
