import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * A hibernated sandbox woken on another node: while its saved state moves there, `movingTo`
 * names that node (its vCPUs and memory are booked there, and no second move starts). Null
 * otherwise, and on older rows.
 */
export class SandboxMove1732000015000 implements MigrationInterface {
  name = 'SandboxMove1732000015000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('sandboxes', new TableColumn({ name: 'movingTo', type: 'varchar', length: '36', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('sandboxes', 'movingTo');
  }
}
