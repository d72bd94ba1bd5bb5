import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional, Max, Min, ValidateBy, type ValidationOptions } from 'class-validator';
import { PERCENT_PATTERN, STRATEGY_TYPES, type CountOrPercent, type RolloutStrategy, type StrategyType } from '../strategy';

/** How OpenAPI describes what `IsCountOrPercent` takes. */
const COUNT_OR_PERCENT = (example: string): object[] => [
  { type: 'integer', minimum: 0, maximum: 100_000 },
  { type: 'string', pattern: PERCENT_PATTERN.source, example },
];

/** A non-negative integer count, or a percentage string such as "10%". */
function IsCountOrPercent(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isCountOrPercent',
      validator: {
        validate: (value: unknown) =>
          (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 100_000) ||
          (typeof value === 'string' && PERCENT_PATTERN.test(value)),
        defaultMessage: (args) => `${args?.property ?? 'value'} must be a non-negative integer or a percentage like "10%"`,
      },
    },
    options,
  );
}

export class StrategyDto implements RolloutStrategy {
  @ApiProperty({ enum: STRATEGY_TYPES })
  @IsIn(STRATEGY_TYPES)
  type!: StrategyType;

  @ApiProperty({ required: false, oneOf: COUNT_OR_PERCENT('10%'), default: '25%' })
  @IsOptional()
  @IsCountOrPercent()
  maxUnavailable?: CountOrPercent;

  @ApiProperty({ required: false, oneOf: COUNT_OR_PERCENT('25%'), default: '25%' })
  @IsOptional()
  @IsCountOrPercent()
  maxSurge?: CountOrPercent;

  @ApiProperty({ required: false, minimum: 1, maximum: 100_000, default: 1, description: 'canary: new replicas started before promotion' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  canaryReplicas?: number;

  @ApiProperty({
    required: false,
    description: 'canary: promote without waiting for `promote` (default false); blue-green: false waits for `promote`',
  })
  @IsOptional()
  @IsBoolean()
  autoPromote?: boolean;

  @ApiProperty({ required: false, minimum: 0, maximum: 86_400, default: 0, description: 'How long a new replica must stay healthy to count' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(86_400)
  minHealthySeconds?: number;

  @ApiProperty({ required: false, minimum: 1, maximum: 86_400, default: 600, description: 'Fail the rollout after this long without progress' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86_400)
  progressDeadlineSeconds?: number;

  @ApiProperty({ required: false, default: false, description: 'Return to the last good version when the rollout fails' })
  @IsOptional()
  @IsBoolean()
  autoRollback?: boolean;
}
