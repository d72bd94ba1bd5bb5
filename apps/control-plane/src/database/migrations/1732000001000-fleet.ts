import { MigrationInterface, QueryRunner, Table, TableColumn, TableColumnOptions, TableIndex } from 'typeorm';

/** Column helpers like the initial migration's (timestamps differ between the databases). */
function columns(queryRunner: QueryRunner) {
  const timestamp = queryRunner.connection.driver.options.type === 'postgres' ? 'timestamptz' : 'datetime';
  return {
    varchar: (name: string, length: number, isNullable = false): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: String(length),
      isNullable,
    }),
    jsonObject: (name: string): TableColumnOptions => ({ name, type: 'text', isNullable: false, default: "'{}'" }),
    timestamp: (name: string, isNullable = false): TableColumnOptions => ({ name, type: timestamp, isNullable }),
  };
}

/**
 * The fleet: tenant state and key metadata, node labels, scheduling state and credentials,
 * placement constraints on sandboxes, single-use join tokens and the audit log.
 */
export class Fleet1732000001000 implements MigrationInterface {
  name = 'Fleet1732000001000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = columns(queryRunner);
    await queryRunner.addColumn(
      'tenants',
      new TableColumn({ ...c.varchar('state', 16), default: "'active'" }),
    );
    await queryRunner.addColumns('api_keys', [
      new TableColumn(c.varchar('name', 128, true)),
      new TableColumn(c.timestamp('lastUsedAt', true)),
    ]);
    await queryRunner.addColumns('nodes', [
      new TableColumn(c.jsonObject('labels')),
      new TableColumn(c.varchar('unschedulable', 16, true)),
      new TableColumn(c.varchar('credentialHash', 64, true)),
    ]);
    await queryRunner.createIndex(
      'nodes',
      new TableIndex({ name: 'UQ_nodes_credential', columnNames: ['credentialHash'], isUnique: true }),
    );
    await queryRunner.addColumns('sandboxes', [
      new TableColumn(c.jsonObject('nodeSelector')),
      new TableColumn(c.varchar('antiAffinityKey', 128, true)),
      new TableColumn(c.timestamp('placedAt', true)),
    ]);
    await queryRunner.createIndex(
      'sandboxes',
      new TableIndex({ name: 'IDX_sandboxes_placement', columnNames: ['desiredState', 'nodeId', 'state'] }),
    );
    // One row: bumped by every change to placements, nodes or capacity, so that a replica
    // can tell whether its in-memory capacity index is still current.
    await queryRunner.createTable(
      new Table({
        name: 'scheduler_epoch',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true },
          { name: 'epoch', type: 'integer' },
        ],
      }),
    );
    await queryRunner.query('INSERT INTO scheduler_epoch (id, epoch) VALUES (1, 0)');
    await queryRunner.createTable(
      new Table({
        name: 'join_tokens',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          c.varchar('hash', 64),
          { name: 'labels', type: 'text' },
          c.timestamp('expiresAt'),
          c.timestamp('createdAt'),
          c.timestamp('usedAt', true),
          c.varchar('usedByNodeId', 36, true),
        ],
        indices: [new TableIndex({ name: 'UQ_join_tokens_hash', columnNames: ['hash'], isUnique: true })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_log',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          c.timestamp('at'),
          c.varchar('actorKind', 16),
          c.varchar('actorId', 64),
          c.varchar('tenantId', 36, true),
          c.varchar('action', 64),
          c.varchar('targetType', 32),
          c.varchar('targetId', 64, true),
          c.varchar('result', 16),
          { name: 'status', type: 'integer' },
          c.varchar('message', 1024, true),
        ],
        indices: [
          new TableIndex({ name: 'IDX_audit_at', columnNames: ['at'] }),
          new TableIndex({ name: 'IDX_audit_tenant', columnNames: ['tenantId', 'id'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_log');
    await queryRunner.dropTable('join_tokens');
    await queryRunner.dropTable('scheduler_epoch');
    await queryRunner.dropIndex('sandboxes', 'IDX_sandboxes_placement');
    await queryRunner.dropColumns('sandboxes', ['nodeSelector', 'antiAffinityKey', 'placedAt']);
    await queryRunner.dropIndex('nodes', 'UQ_nodes_credential');
    await queryRunner.dropColumns('nodes', ['labels', 'unschedulable', 'credentialHash']);
    await queryRunner.dropColumns('api_keys', ['name', 'lastUsedAt']);
    await queryRunner.dropColumn('tenants', 'state');
  }
}
