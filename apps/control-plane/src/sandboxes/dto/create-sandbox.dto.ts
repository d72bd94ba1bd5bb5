import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  API_MAX_MEMORY_MIB,
  API_MAX_VCPUS,
  API_MIN_MEMORY_MIB,
  MAX_ARGV_ENTRIES,
  MAX_COMMAND_ARG_LENGTH,
  MAX_IMAGE_REFERENCE_LENGTH,
  MAX_PUBLISHED_PORTS,
  NETWORK_MODELS,
  ROOTFS_KINDS,
  type NetworkModel,
  type RootfsKind,
} from '@moat/proto';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateNested,
} from 'class-validator';
import { ENV_MAP, LABEL_MAP, OptionalStringMap } from '../../common/string-map.validator';
import { IsText, IsArgv } from '../../common/text.validator';
import { DnsConfigDto, EgressPolicyDto } from './sandbox-fences.dto';
import { IdleTimeoutSeconds, RestartPolicyRequestDto } from './sandbox-lifecycle.dto';

/** Refuses the property on a sandbox asking for no network interface: it would fence nothing. */
function NeedsNetwork(): PropertyDecorator {
  return ValidateBy({
    name: 'needsNetwork',
    validator: {
      validate: (_value: unknown, args) => (args?.object as Partial<CreateSandboxDto> | undefined)?.network !== false,
      defaultMessage: () => '$property cannot be set with network: false: a sandbox without a network interface sends no traffic to fence',
    },
  });
}

export class PortRequestDto {
  @ApiProperty({ minimum: 1, maximum: 65535 })
  @IsInt()
  @Min(1)
  @Max(65535)
  containerPort!: number;

  @ApiProperty({ required: false, minimum: 1, maximum: 65535, description: 'default: a free port picked by the node' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65535)
  hostPort?: number;

  @ApiProperty({ enum: ['tcp', 'udp'] })
  @IsIn(['tcp', 'udp'])
  protocol!: 'tcp' | 'udp';
}

export class CreateSandboxDto {
  @ApiProperty({
    required: false,
    format: 'uuid',
    description: 'Admin only: the tenant to create it for (default: the built-in "default" tenant)',
  })
  @IsOptional()
  @IsUUID()
  tenantId?: string;

  @ApiProperty({ required: false, minimum: 1, maximum: API_MAX_VCPUS, default: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(API_MAX_VCPUS)
  vcpus?: number;

  @ApiProperty({ required: false, minimum: API_MIN_MEMORY_MIB, maximum: API_MAX_MEMORY_MIB, default: 256 })
  @IsOptional()
  @IsInt()
  @Min(API_MIN_MEMORY_MIB)
  @Max(API_MAX_MEMORY_MIB)
  memoryMiB?: number;

  @ApiProperty({
    required: false,
    maxLength: MAX_IMAGE_REFERENCE_LENGTH,
    example: 'docker.io/library/busybox:latest',
    description: 'An OCI image reference; without one the container gets a busybox rootfs',
  })
  @IsOptional()
  @IsString()
  @IsText()
  @MaxLength(MAX_IMAGE_REFERENCE_LENGTH)
  image?: string;

  @ApiProperty({
    required: false,
    type: [String],
    example: ['/bin/sh', '-c', 'echo hi; sleep 3600'],
    description: "The container's init; replaces the image's Entrypoint and Cmd",
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ARGV_ENTRIES)
  @IsString({ each: true })
  @MaxLength(MAX_COMMAND_ARG_LENGTH, { each: true })
  @IsArgv()
  command?: string[];

  @ApiProperty({
    required: false,
    enum: ROOTFS_KINDS,
    description: "How the container rootfs reaches the VM: virtio-fs, virtio-9p or an ext4 block device (default: the node's, virtiofs unless configured)",
  })
  @IsOptional()
  @IsIn(ROOTFS_KINDS)
  rootfs?: RootfsKind;

  @IdleTimeoutSeconds()
  idleTimeoutSeconds?: number;

  @OptionalStringMap(ENV_MAP, { example: { FOO: 'bar' } })
  env?: Record<string, string>;

  @OptionalStringMap(LABEL_MAP, { example: { team: 'a' } })
  labels?: Record<string, string>;

  @ApiProperty({ required: false, enum: NETWORK_MODELS, description: "How the VM's NIC joins the network; default the node's MOAT_NETWORK_MODEL (tcfilter)" })
  @IsOptional()
  @IsIn(NETWORK_MODELS)
  networkModel?: NetworkModel;

  @ApiProperty({ required: false, default: true, description: 'false: no network interface at all' })
  @IsOptional()
  @IsBoolean()
  network?: boolean;

  @ApiProperty({ required: false, type: [PortRequestDto], description: 'Sandbox ports to publish on the node' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_PUBLISHED_PORTS)
  @ValidateNested({ each: true })
  @Type(() => PortRequestDto)
  ports?: PortRequestDto[];

  @ApiProperty({
    required: false,
    type: EgressPolicyDto,
    description:
      "Where the sandbox's traffic leaving its tenant network may go (`deny` wins over `allow`); the node itself, " +
      '169.254.0.0/16 and other tenants are always refused. Absent: everywhere else. Not with `network: false`',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => EgressPolicyDto)
  @NeedsNetwork()
  egress?: EgressPolicyDto;

  @ApiProperty({ required: false, type: DnsConfigDto, description: "Written to the containers' /etc/resolv.conf; absent: the node's resolvers" })
  @IsOptional()
  @ValidateNested()
  @Type(() => DnsConfigDto)
  dns?: DnsConfigDto;

  @OptionalStringMap(LABEL_MAP, { example: { zone: 'eu-1' }, description: 'Only nodes carrying all these labels may run it' })
  nodeSelector?: Record<string, string>;

  @ApiProperty({
    required: false,
    type: RestartPolicyRequestDto,
    description:
      'What happens when its node reports it failed (its VMM died, the OOM killer took it, its guest stopped answering, it failed to start). ' +
      'Default `{"type":"never"}`',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => RestartPolicyRequestDto)
  restartPolicy?: RestartPolicyRequestDto;
}
