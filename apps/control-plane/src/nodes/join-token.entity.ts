import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A single-use token an admin hands to a new node; only its SHA-256 is stored. */
@Entity('join_tokens')
export class JoinTokenEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  hash!: string;

  /** Labels the joining node starts with. */
  @Column('simple-json')
  labels!: Record<string, string>;

  @Column({ type: Date })
  expiresAt!: Date;

  @Column({ type: Date })
  createdAt!: Date;

  @Column({ type: Date, nullable: true })
  usedAt!: Date | null;

  @Column({ type: 'varchar', length: 36, nullable: true })
  usedByNodeId!: string | null;
}
