import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Sandbox lifecycle: the restart policy (every sandbox so far never restarts), how often it
 * restarted and when it restarts next, and its state changes (recorded from now on; older
 * sandboxes start with none). `restartAt` is looked up every second by the restart loop.
 */
export class SandboxLifecycle1732000007000 implements MigrationInterface {
  name = 'SandboxLifecycle1732000007000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamp = queryRunner.connection.driver.options.type === 'postgres' ? 'timestamptz' : 'datetime';
    await queryRunner.addColumns('sandboxes', [
      new TableColumn({ name: 'restartPolicy', type: 'text', default: `'{"type":"never"}'` }),
      new TableColumn({ name: 'restartCount', type: 'integer', default: 0 }),
      new TableColumn({ name: 'restartAt', type: timestamp, isNullable: true }),
      new TableColumn({ name: 'events', type: 'text', default: `'[]'` }),
    ]);
    await queryRunner.createIndex('sandboxes', new TableIndex({ name: 'IDX_sandboxes_restart_at', columnNames: ['restartAt'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('sandboxes', 'IDX_sandboxes_restart_at');
    await queryRunner.dropColumns('sandboxes', ['events', 'restartAt', 'restartCount', 'restartPolicy']);
  }
}
