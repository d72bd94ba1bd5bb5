import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class AuditQuery {
  @ApiProperty({ required: false, description: '`admin`, `tenant`, `node`, or an actor id (API key id, node id)' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  actor?: string;

  @ApiProperty({ required: false, example: 'sandbox.create' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  action?: string;

  @ApiProperty({ required: false, example: 'node' })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  targetType?: string;

  @ApiProperty({ required: false })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  targetId?: string;

  @ApiProperty({ required: false, format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  since?: Date;

  @ApiProperty({ required: false, format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  until?: Date;

  @ApiProperty({ required: false, minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiProperty({ required: false, description: 'Only entries older than this id (the previous page’s `nextBefore`)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  before?: number;
}
