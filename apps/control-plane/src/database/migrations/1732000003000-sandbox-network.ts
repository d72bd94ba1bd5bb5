import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/** Sandbox networking: the model asked for, whether it has a network, its ports and observed IP. */
export class SandboxNetwork1732000003000 implements MigrationInterface {
  name = 'SandboxNetwork1732000003000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('sandboxes', [
      new TableColumn({ name: 'networkModel', type: 'varchar', length: '16', isNullable: true }),
      new TableColumn({ name: 'network', type: 'boolean', default: true }),
      new TableColumn({ name: 'ports', type: 'text', default: "'[]'" }),
      new TableColumn({ name: 'ip', type: 'varchar', length: '45', isNullable: true }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const column of ['ip', 'ports', 'network', 'networkModel']) await queryRunner.dropColumn('sandboxes', column);
  }
}
