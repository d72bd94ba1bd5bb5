import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min, MinLength, ValidateNested } from 'class-validator';
import { NETWORK_MODELS, type NetworkModel } from '@moat/proto';
import { ENV_MAP, IsStringMap, LABEL_MAP } from '../../common/string-map.validator';

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

  @ApiProperty({ required: false, minimum: 1, maximum: 32, default: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(32)
  vcpus?: number;

  @ApiProperty({ required: false, minimum: 128, maximum: 65536, default: 256 })
  @IsOptional()
  @IsInt()
  @Min(128)
  @Max(65536)
  memoryMiB?: number;

  @ApiProperty({ required: false, maxLength: 1024, example: 'docker.io/library/busybox:latest' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  image?: string;

  @ApiProperty({ required: false, type: Object, additionalProperties: { type: 'string' }, example: { FOO: 'bar' } })
  @IsOptional()
  @IsStringMap(ENV_MAP)
  env?: Record<string, string>;

  @ApiProperty({ required: false, type: Object, additionalProperties: { type: 'string' }, example: { team: 'a' } })
  @IsOptional()
  @IsStringMap(LABEL_MAP)
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
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => PortRequestDto)
  ports?: PortRequestDto[];
}
