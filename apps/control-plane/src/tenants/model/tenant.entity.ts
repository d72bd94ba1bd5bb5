import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Quota } from './quota';

/** The tenant an admin creates sandboxes for when the request names none. */
export const DEFAULT_TENANT_NAME = 'default';

export const TENANT_STATES = ['active', 'suspended'] as const;
export type TenantState = (typeof TENANT_STATES)[number];

@Entity('tenants')
export class TenantEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

  @Column('simple-json')
  quota!: Quota;

  /** A suspended tenant can read but not create sandboxes. */
  @Column({ type: 'varchar', length: 16 })
  state!: TenantState;

  @Column({ type: Date })
  createdAt!: Date;
}
