import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsInt, IsOptional, IsString, Max, MaxDate, MaxLength, Min, MinDate } from 'class-validator';
import { MAX_INTEGER_COLUMN } from '../common/integer-column';

/** Four-digit years: PostgreSQL's timestamps end long before JavaScript's dates do. */
const EARLIEST = new Date('0001-01-01T00:00:00.000Z');
const LATEST = new Date('9999-12-31T23:59:59.999Z');

/** An optional ISO 8601 timestamp with a four-digit year. */
function OptionalTimestamp(): PropertyDecorator {
  // Listed in the order stacked decorators apply (the bottom one first), so that the
  // validation messages of a bad value keep their order.
  return applyDecorators(
    MaxDate(LATEST),
    MinDate(EARLIEST),
    IsDate(),
    Type(() => Date),
    IsOptional(),
    ApiProperty({ required: false, format: 'date-time', description: 'Years 1 to 9999' }),
  );
}

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

  @OptionalTimestamp()
  since?: Date;

  @OptionalTimestamp()
  until?: Date;

  @ApiProperty({ required: false, minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiProperty({
    required: false,
    minimum: 1,
    maximum: MAX_INTEGER_COLUMN,
    description: 'Only entries older than this id (the previous page’s `nextBefore`)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_INTEGER_COLUMN)
  before?: number;
}
