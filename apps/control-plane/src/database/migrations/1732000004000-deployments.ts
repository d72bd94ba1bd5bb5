import { MigrationInterface, QueryRunner, Table, TableColumn, TableColumnOptions, TableIndex } from 'typeorm';

/** Same portable column helpers as the initial migration (timestamps differ per database). */
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
    integer: (name: string, isNullable = false): TableColumnOptions => ({ name, type: 'integer', isNullable }),
    boolean: (name: string): TableColumnOptions => ({ name, type: 'boolean', default: false }),
    json: (name: string, isNullable = false): TableColumnOptions => ({ name, type: 'text', isNullable }),
    timestamp: (name: string, isNullable = false): TableColumnOptions => ({ name, type: timestamp, isNullable }),
  };
}

/** Templates with immutable versions, deployments, rollouts, and the sandbox columns that link them. */
export class Deployments1732000004000 implements MigrationInterface {
  name = 'Deployments1732000004000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = columns(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'templates',
        columns: [c.id(), c.id('tenantId', false), c.varchar('name', 128), c.integer('latestVersion'), c.timestamp('createdAt')],
        indices: [new TableIndex({ name: 'UQ_templates_tenant_name', columnNames: ['tenantId', 'name'], isUnique: true })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'template_versions',
        columns: [c.id('templateId'), { ...c.integer('version'), isPrimary: true }, c.json('spec'), c.timestamp('createdAt')],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'deployments',
        columns: [
          c.id(),
          c.id('tenantId', false),
          c.varchar('name', 128),
          c.id('templateId', false),
          c.integer('templateVersion'),
          c.integer('replicas'),
          c.boolean('perNode'),
          c.json('nodeSelector'),
          c.json('strategy'),
          c.varchar('state', 16),
          { ...c.id('currentRolloutId', false), isNullable: true },
          c.timestamp('createdAt'),
          c.timestamp('updatedAt'),
        ],
        indices: [new TableIndex({ name: 'IDX_deployments_tenant', columnNames: ['tenantId'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'rollouts',
        columns: [
          c.id(),
          c.id('deploymentId', false),
          c.integer('fromVersion'),
          c.integer('toVersion'),
          c.json('strategy'),
          c.varchar('state', 16),
          c.json('steps'),
          c.json('progress'),
          c.boolean('promoted'),
          c.varchar('reason', 1024, true),
          c.timestamp('lastProgressAt'),
          c.timestamp('createdAt'),
          c.timestamp('finishedAt', true),
        ],
        indices: [new TableIndex({ name: 'IDX_rollouts_deployment', columnNames: ['deploymentId'] })],
      }),
    );
    await queryRunner.addColumns('sandboxes', [
      new TableColumn({ ...c.id('deploymentId', false), isNullable: true }),
      new TableColumn({ ...c.id('templateId', false), isNullable: true }),
      new TableColumn(c.integer('templateVersion', true)),
      new TableColumn({ ...c.varchar('health', 16), default: "'unknown'" }),
      new TableColumn(c.timestamp('healthySince', true)),
    ]);
    await queryRunner.createIndex('sandboxes', new TableIndex({ name: 'IDX_sandboxes_deployment', columnNames: ['deploymentId'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('sandboxes', 'IDX_sandboxes_deployment');
    for (const column of ['healthySince', 'health', 'templateVersion', 'templateId', 'deploymentId']) {
      await queryRunner.dropColumn('sandboxes', column);
    }
    await queryRunner.dropTable('rollouts');
    await queryRunner.dropTable('deployments');
    await queryRunner.dropTable('template_versions');
    await queryRunner.dropTable('templates');
  }
}
