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
  ValidateNested,
} from 'class-validator';
import { ENV_MAP, LABEL_MAP, OptionalStringMap } from '../../common/string-map.validator';
import { IsText, IsArgv } from '../../common/text.validator';
import {
  API_MAX_MEMORY_MIB,
  API_MAX_VCPUS,
  API_MIN_MEMORY_MIB,
  MAX_ARGV_ENTRIES,
  MAX_IMAGE_REFERENCE_LENGTH,
  NETWORK_MODELS,
  ROOTFS_KINDS,
  type NetworkModel,
  type RootfsKind,
} from '@moat/proto';
import { dnsConfigOf, DnsConfigDto, egressPolicyOf, EgressPolicyDto } from '../../sandboxes/dto/sandbox-fences.dto';
import { IdleTimeoutSeconds, restartPolicyOf, RestartPolicyRequestDto } from '../../sandboxes/dto/sandbox-lifecycle.dto';
import { HEALTH_CHECK_DEFAULTS, type TemplateSpec } from '../model/template-spec';

export class HealthCheckDto {
  @ApiProperty({ type: [String], example: ['test', '-f', '/tmp/ready'], description: 'Exit status 0 means healthy' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(256)
  @IsString({ each: true })
  @IsArgv()
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
export class TemplateSpecDto implements Omit<TemplateSpec, 'restartPolicy'> {
  @ApiProperty({ required: false, maxLength: MAX_IMAGE_REFERENCE_LENGTH, example: 'docker.io/library/busybox:latest' })
  @IsOptional()
  @IsString()
  @IsText()
  @MaxLength(MAX_IMAGE_REFERENCE_LENGTH)
  image?: string;

  @ApiProperty({ required: false, type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_ARGV_ENTRIES)
  @IsString({ each: true })
  @IsArgv()
  command?: string[];

  @ApiProperty({ minimum: 1, maximum: API_MAX_VCPUS })
  @IsInt()
  @Min(1)
  @Max(API_MAX_VCPUS)
  vcpus!: number;

  @ApiProperty({ minimum: API_MIN_MEMORY_MIB, maximum: API_MAX_MEMORY_MIB })
  @IsInt()
  @Min(API_MIN_MEMORY_MIB)
  @Max(API_MAX_MEMORY_MIB)
  memoryMiB!: number;

  @OptionalStringMap(ENV_MAP)
  env?: Record<string, string>;

  @ApiProperty({ required: false, enum: NETWORK_MODELS })
  @IsOptional()
  @IsIn(NETWORK_MODELS)
  networkModel?: NetworkModel;

  @ApiProperty({ required: false, enum: ROOTFS_KINDS })
  @IsOptional()
  @IsIn(ROOTFS_KINDS)
  rootfs?: RootfsKind;

  @IdleTimeoutSeconds()
  idleTimeoutSeconds?: number;

  @OptionalStringMap(LABEL_MAP)
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

  @ApiProperty({
    required: false,
    type: RestartPolicyRequestDto,
    description:
      'What happens to a replica its node reports failed, as on `POST /v1/sandboxes`. With `on-failure` it is restarted in place ' +
      'while it has restarts left, and its deployment replaces it only once they are used up; default `never`: replaced at once',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => RestartPolicyRequestDto)
  restartPolicy?: RestartPolicyRequestDto;
}

const TEMPLATE_NAME = /^[a-z0-9]([a-z0-9-]{0,126}[a-z0-9])?$/;

export class CreateTemplateDto extends TemplateSpecDto {
  @ApiProperty({ maxLength: 128, pattern: TEMPLATE_NAME.source, example: 'web' })
  @IsString()
  @Matches(TEMPLATE_NAME, { message: 'name must be lowercase letters, digits and "-"' })
  name!: string;

  @ApiProperty({ required: false, format: 'uuid', description: 'Admin only: the owning tenant (default: "default")' })
  @IsOptional()
  @IsUUID()
  tenantId?: string;
}

/** Only the spec fields of a validated DTO (no name, no tenantId), as stored in a version. */
export function specOf(dto: TemplateSpecDto): TemplateSpec {
  const { image, command, vcpus, memoryMiB, env, networkModel, rootfs, idleTimeoutSeconds, labels, egress, dns, healthCheck, restartPolicy } = dto;
  const spec: TemplateSpec = { image, command, vcpus, memoryMiB, env, networkModel, rootfs, idleTimeoutSeconds, labels };
  if (egress) spec.egress = egressPolicyOf(egress);
  if (dns) spec.dns = dnsConfigOf(dns);
  if (healthCheck) spec.healthCheck = { ...healthCheck };
  // Stored with its defaults: a version never changes, not even when defaults do.
  if (restartPolicy) spec.restartPolicy = restartPolicyOf(restartPolicy);
  return JSON.parse(JSON.stringify(spec)) as TemplateSpec;
}
