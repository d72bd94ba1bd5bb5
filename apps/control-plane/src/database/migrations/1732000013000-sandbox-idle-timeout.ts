import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Auto-hibernate: a sandbox's idle timeout in seconds (every sandbox so far has none). */
export class SandboxIdleTimeout1732000013000 implements MigrationInterface {
  name = 'SandboxIdleTimeout1732000013000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('sandboxes', new TableColumn({ name: 'idleTimeoutSeconds', type: 'integer', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('sandboxes', 'idleTimeoutSeconds');
  }
}
