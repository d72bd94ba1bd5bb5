import { Table, TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Tenant networks planned by the control plane for the whole fleet: each tenant's VNI and
 * subnet, each sandbox's address on it (unique per tenant), and each node's underlay address.
 * Rows older than this keep null addresses: their nodes planned those themselves.
 */
export class TenantNetworks1732000010000 implements MigrationInterface {
  name = 'TenantNetworks1732000010000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamp = queryRunner.connection.driver.options.type === 'postgres' ? 'timestamptz' : 'datetime';
    await queryRunner.createTable(
      new Table({
        name: 'tenant_networks',
        columns: [
          { name: 'tenantId', type: 'varchar', length: '36', isPrimary: true },
          { name: 'vni', type: 'integer', isUnique: true },
          { name: 'subnet', type: 'varchar', length: '18', isUnique: true },
          { name: 'createdAt', type: timestamp },
        ],
      }),
    );
    await queryRunner.addColumn('sandboxes', new TableColumn({ name: 'address', type: 'varchar', length: '15', isNullable: true }));
    // NULLs are distinct in a unique index on both databases: sandboxes without an address never clash.
    await queryRunner.createIndex(
      'sandboxes',
      new TableIndex({ name: 'UQ_sandboxes_tenant_address', columnNames: ['tenantId', 'address'], isUnique: true }),
    );
    await queryRunner.addColumn('nodes', new TableColumn({ name: 'address', type: 'varchar', length: '15', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('nodes', 'address');
    await queryRunner.dropIndex('sandboxes', 'UQ_sandboxes_tenant_address');
    await queryRunner.dropColumn('sandboxes', 'address');
    await queryRunner.dropTable('tenant_networks');
  }
}
