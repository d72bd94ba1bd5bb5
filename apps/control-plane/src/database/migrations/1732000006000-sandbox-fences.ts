import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Sandbox fences: the egress policy and resolver settings asked for, the VMM's isolation as
 * its node reports it; and whether a node jails its VMMs (every node did before it could say).
 */
export class SandboxFences1732000006000 implements MigrationInterface {
  name = 'SandboxFences1732000006000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('sandboxes', [
      new TableColumn({ name: 'egress', type: 'text', isNullable: true }),
      new TableColumn({ name: 'dns', type: 'text', isNullable: true }),
      new TableColumn({ name: 'isolation', type: 'text', isNullable: true }),
    ]);
    await queryRunner.addColumn('nodes', new TableColumn({ name: 'jailed', type: 'boolean', default: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('nodes', 'jailed');
    await queryRunner.dropColumns('sandboxes', ['isolation', 'dns', 'egress']);
  }
}
