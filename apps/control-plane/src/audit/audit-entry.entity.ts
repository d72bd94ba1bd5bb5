import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const ACTOR_KINDS = ['admin', 'tenant', 'node'] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];
export type AuditResult = 'success' | 'failure';

/** One mutating request: who, what, on what, how it ended, when. Append-only. */
@Entity('audit_log')
export class AuditEntryEntity {
  /** Increasing, so it doubles as the pagination cursor. */
  @PrimaryGeneratedColumn('increment')
  id!: number;

  @Column({ type: Date })
  at!: Date;

  @Column({ type: 'varchar', length: 16 })
  actorKind!: ActorKind;

  /** `admin`, the tenant API key id, or the node id. */
  @Column({ type: 'varchar', length: 64 })
  actorId!: string;

  /** The tenant the request acted for, so a tenant can read its own entries. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  tenantId!: string | null;

  @Column({ type: 'varchar', length: 64 })
  action!: string;

  @Column({ type: 'varchar', length: 32 })
  targetType!: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  targetId!: string | null;

  @Column({ type: 'varchar', length: 16 })
  result!: AuditResult;

  @Column('integer')
  status!: number;

  @Column({ type: 'varchar', length: 1024, nullable: true })
  message!: string | null;
}
