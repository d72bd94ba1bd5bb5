import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The sandboxes containerd started on a node, as its latest heartbeat listed them (JSON); null:
 * none, or the node is down (they were its report).
 */
export class NodeContainerd1732000011000 implements MigrationInterface {
  name = 'NodeContainerd1732000011000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('nodes', new TableColumn({ name: 'containerdSandboxes', type: 'text', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('nodes', 'containerdSandboxes');
  }
}
