import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import { MAX_INTEGER_COLUMN } from '../../common/integer-column';
import { StrategyDto } from './strategy.dto';
import { ROLLOUT_STATES, STEP_STATES, type RolloutEntity, type RolloutState, type StepState } from '../rollout.entity';

export class CreateRolloutDto {
  @ApiProperty({ minimum: 1, maximum: MAX_INTEGER_COLUMN })
  @IsInt()
  @Min(1)
  @Max(MAX_INTEGER_COLUMN)
  templateVersion!: number;
}

export class CreatedRolloutDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
}

class RolloutStepDto {
  @ApiProperty()
  index!: number;

  @ApiProperty()
  name!: string;

  @ApiProperty({ enum: STEP_STATES })
  state!: StepState;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  startedAt!: string | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  finishedAt!: string | null;
}

class RolloutProgressDto {
  @ApiProperty({ description: 'Replicas of other versions still meant to run' })
  old!: number;

  @ApiProperty({ description: 'Replicas of the target version meant to run' })
  new!: number;

  @ApiProperty({ description: 'Replicas of the target version healthy for minHealthySeconds' })
  healthy!: number;

  @ApiProperty()
  unavailable!: number;

  @ApiProperty()
  desired!: number;
}

export class RolloutDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  deploymentId!: string;

  @ApiProperty()
  fromVersion!: number;

  @ApiProperty()
  toVersion!: number;

  @ApiProperty({ type: StrategyDto })
  strategy!: StrategyDto;

  @ApiProperty({ enum: ROLLOUT_STATES })
  state!: RolloutState;

  @ApiProperty({ type: [RolloutStepDto] })
  steps!: RolloutStepDto[];

  @ApiProperty({ type: RolloutProgressDto })
  progress!: RolloutProgressDto;

  @ApiProperty({ nullable: true, type: String })
  reason!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  finishedAt!: string | null;

  static from(rollout: RolloutEntity): RolloutDto {
    return {
      id: rollout.id,
      deploymentId: rollout.deploymentId,
      fromVersion: rollout.fromVersion,
      toVersion: rollout.toVersion,
      strategy: rollout.strategy,
      state: rollout.state,
      steps: rollout.steps,
      progress: rollout.progress,
      reason: rollout.reason,
      createdAt: rollout.createdAt.toISOString(),
      finishedAt: rollout.finishedAt?.toISOString() ?? null,
    };
  }
}
