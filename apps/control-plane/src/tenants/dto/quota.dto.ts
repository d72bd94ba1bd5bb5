import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { DEFAULT_QUOTA } from '../model/quota';

export class QuotaDto {
  @ApiProperty({ minimum: 0, maximum: 100_000, default: DEFAULT_QUOTA.maxSandboxes })
  maxSandboxes!: number;

  @ApiProperty({ minimum: 0, maximum: 1_000_000, default: DEFAULT_QUOTA.maxVcpus })
  maxVcpus!: number;

  @ApiProperty({ minimum: 0, maximum: 1_073_741_824, default: DEFAULT_QUOTA.maxMemoryMiB })
  maxMemoryMiB!: number;
}

/** A quota in a request; omitted limits take their defaults. */
export class QuotaInputDto {
  @ApiProperty({ required: false, minimum: 0, maximum: 100_000, default: DEFAULT_QUOTA.maxSandboxes })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100_000)
  maxSandboxes?: number;

  @ApiProperty({ required: false, minimum: 0, maximum: 1_000_000, default: DEFAULT_QUOTA.maxVcpus })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  maxVcpus?: number;

  @ApiProperty({ required: false, minimum: 0, maximum: 1_073_741_824, default: DEFAULT_QUOTA.maxMemoryMiB })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_073_741_824)
  maxMemoryMiB?: number;
}
