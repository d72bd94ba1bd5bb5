import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { ENV_MAP, IsStringMap, LABEL_MAP } from '../../common/string-map.validator';
import { NETWORK_MODELS, ROOTFS_KINDS, type NetworkModel, type RootfsKind } from '@moat/proto';
import { dnsConfigOf, DnsConfigDto, egressPolicyOf, EgressPolicyDto } from '../../sandboxes/dto/sandbox-fences.dto';
import { HEALTH_CHECK_DEFAULTS, type TemplateSpec } from '../template-spec';

export class HealthCheckDto {
  @ApiProperty({ type: [String], example: ['test', '-f', '/tmp/ready'], description: 'Exit status 0 means healthy' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(256)
  @IsString({ each: true })
  command!: string[];

  @ApiProperty({ required: false, minimum: 100, maximum: 3_600_000, default: HEALTH_CHECK_DEFAULTS.intervalMs })
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  intervalMs?: number;

  @ApiProperty({ required: false, minimum: 100, maximum: 600_000, default: HEALTH_CHECK_DEFAULTS.timeoutMs })
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(600_000)
  timeoutMs?: number;

  @ApiProperty({ required: false, minimum: 1, maximum: 100, default: HEALTH_CHECK_DEFAULTS.failureThreshold })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  failureThreshold?: number;
}

/** The body of a new template version (and, with a name, of a new template). */
export class TemplateSpecDto implements TemplateSpec {
  @ApiProperty({ required: false, maxLength: 1024, example: 'docker.io/library/busybox:latest' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  image?: string;

  @ApiProperty({ required: false, type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(4096)
  @IsString({ each: true })
  command?: string[];

  @ApiProperty({ minimum: 1, maximum: 32 })
  @IsInt()
  @Min(1)
  @Max(32)
  vcpus!: number;

  @ApiProperty({ minimum: 128, maximum: 65536 })
  @IsInt()
  @Min(128)
  @Max(65536)
  memoryMiB!: number;

  @ApiProperty({ required: false, type: Object, additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsStringMap(ENV_MAP)
  env?: Record<string, string>;

  @ApiProperty({ required: false, enum: NETWORK_MODELS })
  @IsOptional()
  @IsIn(NETWORK_MODELS)
  networkModel?: NetworkModel;

  @ApiProperty({ required: false, enum: ROOTFS_KINDS })
  @IsOptional()
  @IsIn(ROOTFS_KINDS)
  rootfs?: RootfsKind;

  @ApiProperty({ required: false, type: Object, additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsStringMap(LABEL_MAP)
  labels?: Record<string, string>;

  @ApiProperty({
    required: false,
    type: EgressPolicyDto,
    description:
      "Where its sandboxes' traffic leaving their tenant network may go (`deny` wins over `allow`); the node itself, " +
      '169.254.0.0/16 and other tenants are always refused. Absent: everywhere else',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => EgressPolicyDto)
  egress?: EgressPolicyDto;

  @ApiProperty({ required: false, type: DnsConfigDto, description: "Written to its sandboxes' /etc/resolv.conf; absent: the node's resolvers" })
  @IsOptional()
  @ValidateNested()
  @Type(() => DnsConfigDto)
  dns?: DnsConfigDto;

  @ApiProperty({ required: false, type: HealthCheckDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => HealthCheckDto)
  healthCheck?: HealthCheckDto;
}

export class CreateTemplateDto extends TemplateSpecDto {
  @ApiProperty({ maxLength: 128, example: 'web' })
  @IsString()
  @Matches(/^[a-z0-9]([a-z0-9-]{0,126}[a-z0-9])?$/, { message: 'name must be lowercase letters, digits and "-"' })
  name!: string;

  @ApiProperty({ required: false, format: 'uuid', description: 'Admin only: the owning tenant (default: "default")' })
  @IsOptional()
  @IsUUID()
  tenantId?: string;
}

/** Only the spec fields of a validated DTO (no name, no tenantId), as stored in a version. */
export function specOf(dto: TemplateSpecDto): TemplateSpec {
  const { image, command, vcpus, memoryMiB, env, networkModel, rootfs, labels, egress, dns, healthCheck } = dto;
  const spec: TemplateSpec = { image, command, vcpus, memoryMiB, env, networkModel, rootfs, labels };
  if (egress) spec.egress = egressPolicyOf(egress);
  if (dns) spec.dns = dnsConfigOf(dns);
  if (healthCheck) spec.healthCheck = { ...healthCheck };
  return JSON.parse(JSON.stringify(spec)) as TemplateSpec;
}
