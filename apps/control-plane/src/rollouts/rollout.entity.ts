import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { RolloutStrategy } from './strategy';

export const ROLLOUT_STATES = ['progressing', 'paused', 'completed', 'failed', 'rolled-back'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];
export const STEP_STATES = ['pending', 'running', 'done', 'failed'] as const;
export type StepState = (typeof STEP_STATES)[number];

export interface RolloutStep {
  index: number;
  name: string;
  state: StepState;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface RolloutProgress {
  /** Replicas of any other version still meant to run. */
  old: number;
  /** Replicas of the target version meant to run. */
  new: number;
  /** Replicas of the target version healthy for at least minHealthySeconds. */
  healthy: number;
  /** How far the serving replicas fall short of the desired count. */
  unavailable: number;
  desired: number;
}

/** Whether the rollout still acts on its deployment (terminal rollouts only keep history). */
export function isActive(state: RolloutState): boolean {
  return state === 'progressing' || state === 'paused';
}

@Entity('rollouts')
export class RolloutEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  deploymentId!: string;

  @Column('integer')
  fromVersion!: number;

  @Column('integer')
  toVersion!: number;

  @Column('simple-json')
  strategy!: RolloutStrategy;

  @Column({ type: 'varchar', length: 16 })
  state!: RolloutState;

  @Column('simple-json')
  steps!: RolloutStep[];

  @Column('simple-json')
  progress!: RolloutProgress;

  /** Set by `promote` (canary, blue-green without autoPromote). */
  @Column('boolean')
  promoted!: boolean;

  @Column({ type: 'varchar', length: 1024, nullable: true })
  reason!: string | null;

  /** Last time the rollout moved forward; progressDeadlineSeconds counts from here. */
  @Column({ type: Date })
  lastProgressAt!: Date;

  @Column({ type: Date })
  createdAt!: Date;

  @Column({ type: Date, nullable: true })
  finishedAt!: Date | null;
}
