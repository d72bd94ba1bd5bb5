import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min, MinLength } from 'class-validator';
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
