import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Sandboxes report how their node reaches the guest agent (vsock, hybrid-vsock, virtio-serial). */
export class SandboxTransport1732000005000 implements MigrationInterface {
  name = 'SandboxTransport1732000005000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('sandboxes', new TableColumn({ name: 'transport', type: 'varchar', length: '16', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('sandboxes', 'transport');
  }
}
