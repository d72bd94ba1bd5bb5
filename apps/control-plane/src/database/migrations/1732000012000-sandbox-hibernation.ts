import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Hibernation: whether a sandbox is asked to hibernate (every sandbox so far is not), and the
 * bytes its saved state takes on its node while hibernated (a bigint: a VM's memory alone may
 * pass 2 GiB).
 */
export class SandboxHibernation1732000012000 implements MigrationInterface {
  name = 'SandboxHibernation1732000012000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('sandboxes', [
      new TableColumn({ name: 'desiredHibernated', type: 'boolean', default: false }),
      new TableColumn({ name: 'savedBytes', type: 'bigint', isNullable: true }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumns('sandboxes', ['savedBytes', 'desiredHibernated']);
  }
}
