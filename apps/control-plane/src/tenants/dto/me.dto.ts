import { ApiProperty } from '@nestjs/swagger';
import { TenantDto } from './tenant.dto';

/** The admin token's owner. */
export class AdminMeDto {
  @ApiProperty({ enum: ['admin'] })
  kind!: 'admin';
}

/** A tenant API key's owner, with its state and quota. */
export class TenantMeDto {
  @ApiProperty({ enum: ['tenant'] })
  kind!: 'tenant';

  @ApiProperty({ type: TenantDto })
  tenant!: TenantDto;
}

/** Who the bearer token belongs to. */
export type MeDto = AdminMeDto | TenantMeDto;
