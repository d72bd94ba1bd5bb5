import { MigrationInterface, QueryRunner, Table, TableColumnOptions, TableForeignKey, TableIndex } from 'typeorm';

/**
 * Column types both SQLite and PostgreSQL understand, except timestamps: SQLite has no
 * `timestamptz`, and PostgreSQL's plain `timestamp` would drop the zone.
 */
function columns(queryRunner: QueryRunner) {
  const timestamp = queryRunner.connection.driver.options.type === 'postgres' ? 'timestamptz' : 'datetime';
  return {
    id: (name = 'id', isPrimary = true): TableColumnOptions => ({ name, type: 'varchar', length: '36', isPrimary }),
    varchar: (name: string, length: number, isNullable = false): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: String(length),
      isNullable,
    }),
    integer: (name: string): TableColumnOptions => ({ name, type: 'integer' }),
    json: (name: string, isNullable = false): TableColumnOptions => ({ name, type: 'text', isNullable }),
    timestamp: (name: string, isNullable = false): TableColumnOptions => ({ name, type: timestamp, isNullable }),
  };
}

export class Initial1732000000000 implements MigrationInterface {
  name = 'Initial1732000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = columns(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'tenants',
        columns: [c.id(), c.varchar('name', 128), c.json('quota'), c.timestamp('createdAt')],
        indices: [new TableIndex({ name: 'UQ_tenants_name', columnNames: ['name'], isUnique: true })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          c.id(),
          c.id('tenantId', false),
          c.varchar('prefix', 16),
          c.varchar('hash', 64),
          c.timestamp('createdAt'),
          c.timestamp('revokedAt', true),
        ],
        indices: [new TableIndex({ name: 'UQ_api_keys_hash', columnNames: ['hash'], isUnique: true })],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_api_keys_tenant',
            columnNames: ['tenantId'],
            referencedTableName: 'tenants',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'nodes',
        columns: [
          c.id(),
          c.varchar('name', 253),
          c.varchar('state', 16),
          c.json('capacity'),
          c.varchar('accel', 16),
          c.json('hypervisors'),
          c.varchar('agentVersion', 64),
          c.timestamp('lastHeartbeatAt'),
          c.timestamp('createdAt'),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'sandboxes',
        columns: [
          c.id(),
          c.id('tenantId', false),
          { ...c.id('nodeId', false), isNullable: true },
          c.varchar('state', 16),
          c.varchar('desiredState', 16),
          c.integer('vcpus'),
          c.integer('memoryMiB'),
          c.varchar('image', 1024, true),
          c.json('env'),
          c.json('labels'),
          c.json('timings'),
          c.json('error', true),
          c.json('guest', true),
          c.timestamp('createdAt'),
          c.timestamp('updatedAt'),
        ],
        indices: [
          new TableIndex({ name: 'IDX_sandboxes_tenant', columnNames: ['tenantId'] }),
          new TableIndex({ name: 'IDX_sandboxes_node', columnNames: ['nodeId'] }),
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_sandboxes_tenant',
            columnNames: ['tenantId'],
            referencedTableName: 'tenants',
            referencedColumnNames: ['id'],
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('sandboxes');
    await queryRunner.dropTable('nodes');
    await queryRunner.dropTable('api_keys');
    await queryRunner.dropTable('tenants');
  }
}
