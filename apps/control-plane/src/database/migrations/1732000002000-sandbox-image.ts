import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/** Sandboxes from OCI images: the command that overrides the image's, the rootfs kind, and pull progress. */
export class SandboxImage1732000002000 implements MigrationInterface {
  name = 'SandboxImage1732000002000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('sandboxes', [
      new TableColumn({ name: 'command', type: 'text', isNullable: true }),
      new TableColumn({ name: 'rootfs', type: 'varchar', length: '16', isNullable: true }),
      new TableColumn({ name: 'progress', type: 'text', isNullable: true }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const column of ['progress', 'rootfs', 'command']) await queryRunner.dropColumn('sandboxes', column);
  }
}
