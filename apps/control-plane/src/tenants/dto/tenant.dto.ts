import { ApiProperty } from '@nestjs/swagger';
import { TENANT_STATES, type TenantEntity, type TenantState } from '../model/tenant.entity';
import { QuotaDto } from './quota.dto';

export class TenantDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ enum: TENANT_STATES })
  state!: TenantState;

  @ApiProperty({ type: QuotaDto })
  quota!: QuotaDto;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  static from(tenant: TenantEntity): TenantDto {
    return {
      id: tenant.id,
      name: tenant.name,
      state: tenant.state,
      quota: tenant.quota,
      createdAt: tenant.createdAt.toISOString(),
    };
  }
}

export class CreatedTenantDto extends TenantDto {
  @ApiProperty({ description: 'The tenant API key. Shown only in this response; store it now.', example: 'moat_…' })
  apiKey!: string;
}
