import { ApiProperty } from '@nestjs/swagger';
import { MAX_DNS_OPTIONS, MAX_DNS_SEARCH, MAX_DNS_SERVERS, MAX_EGRESS_CIDRS, type DnsConfig, type EgressPolicy } from '@moat/proto';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional } from 'class-validator';
import { IsDnsDomain, IsIpv4Address, IsIpv4Cidr, IsResolverOption } from '../../common/network.validator';

const EGRESS_DEFAULTS = ['allow', 'deny'] as const;

const CIDR_LIST = {
  type: 'array',
  items: { type: 'string', format: 'ipv4-cidr', example: '10.0.0.0/8' },
  maxItems: MAX_EGRESS_CIDRS,
} as const;

/** Where a sandbox's own traffic may go (request and response alike). */
export class EgressPolicyDto implements EgressPolicy {
  @ApiProperty({ enum: EGRESS_DEFAULTS, description: 'What happens to traffic to an address neither list names' })
  @IsIn(EGRESS_DEFAULTS)
  default!: 'allow' | 'deny';

  @ApiProperty({ required: false, ...CIDR_LIST, description: 'IPv4 CIDRs it may reach' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_EGRESS_CIDRS)
  @IsIpv4Cidr({ each: true })
  allow?: string[];

  @ApiProperty({ required: false, ...CIDR_LIST, description: 'IPv4 CIDRs it may not reach; wins over `allow`' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_EGRESS_CIDRS)
  @IsIpv4Cidr({ each: true })
  deny?: string[];
}

/** A sandbox's resolver settings (request and response alike). */
export class DnsConfigDto implements DnsConfig {
  @ApiProperty({
    required: false,
    type: 'array',
    items: { type: 'string', format: 'ipv4', example: '192.0.2.53' },
    minItems: 1,
    maxItems: MAX_DNS_SERVERS,
    description: "Name servers, in order; default the node's MOAT_DNS_SERVERS, or its own upstream resolvers minus loopback ones",
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_DNS_SERVERS)
  @IsIpv4Address({ each: true })
  servers?: string[];

  @ApiProperty({
    required: false,
    type: 'array',
    items: { type: 'string', format: 'hostname', maxLength: 253, example: 'svc.example.com' },
    maxItems: MAX_DNS_SEARCH,
    description: 'Search domains',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_DNS_SEARCH)
  @IsDnsDomain({ each: true })
  search?: string[];

  @ApiProperty({
    required: false,
    type: 'array',
    items: { type: 'string', maxLength: 36, example: 'ndots:2' },
    maxItems: MAX_DNS_OPTIONS,
    description: 'resolv.conf options, `name` or `name:n`',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_DNS_OPTIONS)
  @IsResolverOption({ each: true })
  options?: string[];
}

/** How a sandbox's VMM is fenced on its node, as the node reported it. */
export class SandboxIsolationDto {
  @ApiProperty({ description: 'Its own host uid, namespaces and root, no capabilities (false only on a node running with MOAT_JAIL=false)' })
  jailed!: boolean;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'The host uid the VMM runs as; 0 when not jailed' })
  uid!: number;

  @ApiProperty({ description: "QEMU's seccomp filter is on" })
  seccomp!: boolean;

  @ApiProperty({ required: false, maxLength: 512, description: 'Its host cgroup, as /proc/<pid>/cgroup names it' })
  cgroup?: string;
}

/** The policy as stored and sent to nodes: only the lists given. */
export function egressPolicyOf(dto: EgressPolicyDto): EgressPolicy {
  return { default: dto.default, ...(dto.allow && { allow: [...dto.allow] }), ...(dto.deny && { deny: [...dto.deny] }) };
}

/** The resolver settings as stored and sent to nodes: only the fields given. */
export function dnsConfigOf(dto: DnsConfigDto): DnsConfig {
  return {
    ...(dto.servers && { servers: [...dto.servers] }),
    ...(dto.search && { search: [...dto.search] }),
    ...(dto.options && { options: [...dto.options] }),
  };
}
