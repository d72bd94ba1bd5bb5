import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TenantOwnedEntity } from '../../common/tenant-owned';
import type { TemplateSpec } from './template-spec';

@Entity('templates')
export class TemplateEntity extends TenantOwnedEntity {
  @Column('integer')
  latestVersion!: number;

  @Column({ type: Date })
  createdAt!: Date;
}

/** One immutable version of a template. */
@Entity('template_versions')
export class TemplateVersionEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  templateId!: string;

  @PrimaryColumn('integer')
  version!: number;

  @Column('simple-json')
  spec!: TemplateSpec;

  @Column({ type: Date })
  createdAt!: Date;
}
