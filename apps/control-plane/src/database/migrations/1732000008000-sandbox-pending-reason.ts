import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Why an unplaced sandbox waits (`{code, message}` as JSON); null once placed, and for older rows. */
export class SandboxPendingReason1732000008000 implements MigrationInterface {
  name = 'SandboxPendingReason1732000008000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('sandboxes', new TableColumn({ name: 'pendingReason', type: 'text', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('sandboxes', 'pendingReason');
  }
}
