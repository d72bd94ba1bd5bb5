import { ApiProperty } from '@nestjs/swagger';
import { TenantDto } from './tenant.dto';

/** Who the bearer token belongs to. */
export class MeDto {
  @ApiProperty({ enum: ['admin', 'tenant'] })
  kind!: 'admin' | 'tenant';

  @ApiProperty({ required: false, type: TenantDto })
  tenant?: TenantDto;
}
