import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Forks: a clone names its source (`forkedFrom`, kept after the source is deleted), its fork
 * request (`forkId`) and how many clones that request made (`forkCount`), which its node needs
 * to start it from one capture of the source. Null on every other sandbox, and on older rows.
 */
export class SandboxFork1732000014000 implements MigrationInterface {
  name = 'SandboxFork1732000014000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('sandboxes', [
      new TableColumn({ name: 'forkedFrom', type: 'varchar', length: '36', isNullable: true }),
      new TableColumn({ name: 'forkId', type: 'varchar', length: '36', isNullable: true }),
      new TableColumn({ name: 'forkCount', type: 'integer', isNullable: true }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumns('sandboxes', ['forkCount', 'forkId', 'forkedFrom']);
  }
}
