import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Quota } from './quota';

/** The tenant an admin creates sandboxes for when the request names none. */
export const DEFAULT_TENANT_NAME = 'default';

@Entity('tenants')
export class TenantEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

  @Column('simple-json')
  quota!: Quota;

  @Column({ type: Date })
  createdAt!: Date;
}
