import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { TemplateSpec } from './template-spec';

@Entity('templates')
export class TemplateEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  tenantId!: string;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

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
