import { ApiProperty } from '@nestjs/swagger';
import { MAX_LOGS_TAIL_LINES } from '@moat/proto';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Max, MaxLength, Min, ValidateBy } from 'class-validator';
import { parseSince, SINCE_DESCRIPTION } from './log-since';

/** `GET /v1/sandboxes/:id/logs?follow=&since=&tail=`. */
export class LogsQuery {
  @ApiProperty({ required: false, type: Boolean, default: false, description: "Keep streaming until the sandbox's process ends or the client goes" })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  follow?: boolean;

  @ApiProperty({ required: false, description: `Only output read since then: ${SINCE_DESCRIPTION}`, example: '5m' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  @ValidateBy({
    name: 'isLogSince',
    validator: { validate: (value: unknown) => typeof value === 'string' && parseSince(value, Date.now()) !== undefined, defaultMessage: () => `since must be ${SINCE_DESCRIPTION}` },
  })
  since?: string;

  @ApiProperty({ required: false, minimum: 0, maximum: MAX_LOGS_TAIL_LINES, description: 'Only the last this many lines (stdout and stderr together)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_LOGS_TAIL_LINES)
  tail?: number;
}
