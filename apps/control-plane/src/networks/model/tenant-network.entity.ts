import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A tenant's network across the fleet: created when its first sandbox needs an address, and
 * never changed afterwards (nodes build bridges and VXLAN links from it, and sandboxes keep
 * their addresses in it). Written only by `networks/tenant-addresses.ts`.
 */
@Entity('tenant_networks')
export class TenantNetworkEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  tenantId!: string;

  /** Its VXLAN network identifier, the same on every node. */
  @Column({ type: 'integer', unique: true })
  vni!: number;

  /** e.g. `10.88.3.0/24`, cut from MOAT_NET_SUBNET_POOL. */
  @Column({ type: 'varchar', length: 18, unique: true })
  subnet!: string;

  @Column({ type: Date })
  createdAt!: Date;
}
