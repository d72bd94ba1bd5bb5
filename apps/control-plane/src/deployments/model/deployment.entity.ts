import { Column, Entity } from 'typeorm';
import { TenantOwnedEntity } from '../../common/tenant-owned';
import type { RolloutStrategy } from '../../rollouts/strategy';

export const DEPLOYMENT_STATES = ['active', 'rolling', 'deleting'] as const;
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

@Entity('deployments')
export class DeploymentEntity extends TenantOwnedEntity {
  @Column({ type: 'varchar', length: 36 })
  templateId!: string;

  /** The stable version: the one every replica runs when no rollout is under way. */
  @Column('integer')
  templateVersion!: number;

  @Column('integer')
  replicas!: number;

  @Column('boolean')
  perNode!: boolean;

  @Column('simple-json')
  nodeSelector!: Record<string, string>;

  @Column('simple-json')
  strategy!: RolloutStrategy;

  @Column({ type: 'varchar', length: 16 })
  state!: DeploymentState;

  @Column({ type: 'varchar', length: 36, nullable: true })
  currentRolloutId!: string | null;

  @Column({ type: Date })
  createdAt!: Date;

  @Column({ type: Date })
  updatedAt!: Date;
}
