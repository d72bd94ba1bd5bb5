import { ApiProperty } from '@nestjs/swagger';
import { DEPLOYMENT_STATES, type DeploymentEntity, type DeploymentState } from '../model/deployment.entity';
import { TenantOwnedDto } from '../../common/tenant-owned';
import { StrategyDto } from '../../rollouts/dto/strategy.dto';

export class DeploymentCountsDto {
  @ApiProperty({ description: 'Replicas wanted (for perNode: eligible nodes)' })
  desired!: number;

  @ApiProperty()
  running!: number;

  @ApiProperty()
  healthy!: number;

  @ApiProperty()
  unhealthy!: number;
}

export type DeploymentCounts = DeploymentCountsDto;

export class DeploymentDto extends TenantOwnedDto {
  @ApiProperty({ format: 'uuid' })
  templateId!: string;

  @ApiProperty({ description: 'The stable version (what a finished rollout moved to)' })
  templateVersion!: number;

  @ApiProperty()
  replicas!: number;

  @ApiProperty()
  perNode!: boolean;

  @ApiProperty({ type: Object, additionalProperties: { type: 'string' } })
  nodeSelector!: Record<string, string>;

  @ApiProperty({ type: StrategyDto })
  strategy!: StrategyDto;

  @ApiProperty({ enum: DEPLOYMENT_STATES })
  state!: DeploymentState;

  @ApiProperty({ type: DeploymentCountsDto })
  counts!: DeploymentCountsDto;

  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  currentRolloutId!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  static from(deployment: DeploymentEntity, counts: DeploymentCounts): DeploymentDto {
    return {
      id: deployment.id,
      name: deployment.name,
      tenantId: deployment.tenantId,
      templateId: deployment.templateId,
      templateVersion: deployment.templateVersion,
      replicas: deployment.replicas,
      perNode: deployment.perNode,
      nodeSelector: deployment.nodeSelector,
      strategy: deployment.strategy,
      state: deployment.state,
      counts,
      currentRolloutId: deployment.currentRolloutId,
      createdAt: deployment.createdAt.toISOString(),
    };
  }
}
