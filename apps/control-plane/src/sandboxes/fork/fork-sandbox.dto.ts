import { ApiProperty } from '@nestjs/swagger';
import { MAX_FORK_CLONES } from '@moat/proto';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export class ForkSandboxDto {
  @ApiProperty({ required: false, minimum: 1, maximum: MAX_FORK_CLONES, default: 1, description: 'How many clones to make' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_FORK_CLONES)
  count?: number;
}
