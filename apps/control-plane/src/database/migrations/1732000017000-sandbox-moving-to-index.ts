import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * A node's allocation counts the sandboxes moving to it (`movingTo`) besides those it holds
 * (`nodeId`, indexed already): an index on `movingTo` lets one node's allocation be read
 * without scanning every sandbox, which a fleet's thousands of node announcements each did.
 */
export class SandboxMovingToIndex1732000017000 implements MigrationInterface {
  name = 'SandboxMovingToIndex1732000017000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex('sandboxes', new TableIndex({ name: 'IDX_sandboxes_moving_to', columnNames: ['movingTo'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('sandboxes', 'IDX_sandboxes_moving_to');
  }
}
