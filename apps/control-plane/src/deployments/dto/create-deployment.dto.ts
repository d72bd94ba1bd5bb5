import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Equals,
  IsDefined,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { LABEL_MAP, OptionalStringMap } from '../../common/string-map.validator';
import { MAX_INTEGER_COLUMN } from '../../common/integer-column';
import { StrategyDto } from '../../rollouts/dto/strategy.dto';

const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,126}[a-z0-9])?$/;

export class CreateDeploymentDto {
  @ApiProperty({ required: false, maxLength: 128, pattern: NAME_PATTERN.source })
  @IsOptional()
  @IsString()
  @Matches(NAME_PATTERN, { message: 'name must be lowercase letters, digits and "-"' })
  name?: string;

  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  templateId!: string;

  @ApiProperty({ required: false, minimum: 1, maximum: MAX_INTEGER_COLUMN, description: 'Default: the latest version' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_INTEGER_COLUMN)
  templateVersion?: number;

  @ApiProperty({ required: false, minimum: 0, maximum: 100_000, default: 1 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100_000)
  replicas?: number;

  @ApiProperty({ required: false, enum: [true], description: 'One replica on every ready node matching nodeSelector' })
  @IsOptional()
  @Equals(true)
  perNode?: true;

  @OptionalStringMap(LABEL_MAP)
  nodeSelector?: Record<string, string>;

  @ApiProperty({ type: StrategyDto })
  @IsDefined()
  @ValidateNested()
  @Type(() => StrategyDto)
  strategy!: StrategyDto;

  @ApiProperty({ required: false, format: 'uuid', description: 'Admin only: the owning tenant (default: the template\'s)' })
  @IsOptional()
  @IsUUID()
  tenantId?: string;
}

export class UpdateDeploymentDto {
  @ApiProperty({ minimum: 0, maximum: 100_000 })
  @IsInt()
  @Min(0)
  @Max(100_000)
  replicas!: number;
}
