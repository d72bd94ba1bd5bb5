import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Live migration: `liveMove` says the move under way (`movingTo`) is a running sandbox's VM
 * going to that node while it runs on its own (state `migrating`), not a hibernated one's saved
 * state. False otherwise, and on older rows.
 */
export class SandboxLiveMove1732000016000 implements MigrationInterface {
  name = 'SandboxLiveMove1732000016000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('sandboxes', new TableColumn({ name: 'liveMove', type: 'boolean', default: false }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('sandboxes', 'liveMove');
  }
}
