import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A tenant API key; only its SHA-256 is stored, so a database leak reveals no key. */
@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  tenantId!: string;

  /** The first characters of the key, to tell keys apart in listings. */
  @Column({ type: 'varchar', length: 16 })
  prefix!: string;

  @Column({ type: 'varchar', length: 128, nullable: true })
  name!: string | null;

  @Column({ type: 'varchar', length: 64 })
  hash!: string;

  @Column({ type: Date })
  createdAt!: Date;

  @Column({ type: Date, nullable: true })
  revokedAt!: Date | null;

  /** Updated at most once a minute, so authenticating stays a read. */
  @Column({ type: Date, nullable: true })
  lastUsedAt!: Date | null;
}
