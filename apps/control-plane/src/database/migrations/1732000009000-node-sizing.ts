import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * What a node's hello says it offers beyond its capacity (`{sandboxOverheadMiB, cpuOvercommit,
 * memoryReserveMiB}` as JSON); null for nodes that have not said hello since, and for older agents.
 */
export class NodeSizing1732000009000 implements MigrationInterface {
  name = 'NodeSizing1732000009000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('nodes', new TableColumn({ name: 'sizing', type: 'text', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('nodes', 'sizing');
  }
}
