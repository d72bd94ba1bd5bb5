import { ApiProperty } from '@nestjs/swagger';
import { ROOTFS_KINDS, type RootfsKind } from '@moat/proto';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min, MinLength } from 'class-validator';
import { ENV_MAP, IsStringMap, LABEL_MAP } from '../../common/string-map.validator';

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

  @ApiProperty({
    required: false,
    maxLength: 1024,
    example: 'docker.io/library/busybox:latest',
    description: 'An OCI image reference; without one the container gets a busybox rootfs',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
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
  @ArrayMaxSize(4096)
  @IsString({ each: true })
  @MaxLength(65_536, { each: true })
  command?: string[];

  @ApiProperty({
    required: false,
    enum: ROOTFS_KINDS,
    description: "How the container rootfs reaches the VM: virtio-fs, virtio-9p or an ext4 block device (default: the node's, virtiofs unless configured)",
  })
  @IsOptional()
  @IsIn(ROOTFS_KINDS)
  rootfs?: RootfsKind;

  @ApiProperty({ required: false, type: Object, additionalProperties: { type: 'string' }, example: { FOO: 'bar' } })
  @IsOptional()
  @IsStringMap(ENV_MAP)
  env?: Record<string, string>;

  @ApiProperty({ required: false, type: Object, additionalProperties: { type: 'string' }, example: { team: 'a' } })
  @IsOptional()
  @IsStringMap(LABEL_MAP)
  labels?: Record<string, string>;

  @ApiProperty({
    required: false,
    type: Object,
    additionalProperties: { type: 'string' },
    example: { zone: 'eu-1' },
    description: 'Only nodes carrying all these labels may run it',
  })
  @IsOptional()
  @IsStringMap(LABEL_MAP)
  nodeSelector?: Record<string, string>;
}
