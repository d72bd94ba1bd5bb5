import { ApiProperty } from '@nestjs/swagger';
import { Column, PrimaryColumn } from 'typeorm';

/** The columns of a tenant's named resource (a template, a deployment): its id, its owner, its name. */
export abstract class TenantOwnedEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  tenantId!: string;

  @Column({ type: 'varchar', length: 128 })
  name!: string;
}

/** The same three fields of such a resource in the API (a class, not abstract: DTOs compose it with IntersectionType). */
export class TenantOwnedDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ format: 'uuid' })
  tenantId!: string;
}
