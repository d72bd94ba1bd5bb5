import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { ApiErrorResponses } from '../common/error-body.dto';
import { AdminMeDto, TenantMeDto, type MeDto } from './dto/me.dto';
import { TenantDto } from './dto/tenant.dto';
import { TenantsService } from './tenants.service';

@ApiTags('tenants')
@ApiBearerAuth()
@ApiErrorResponses(401)
@ApiExtraModels(AdminMeDto, TenantMeDto)
@Controller('v1/me')
export class MeController {
  constructor(private readonly tenants: TenantsService) {}

  @Get()
  @ApiOperation({ summary: 'Who the token belongs to: the admin, or a tenant with its state and quota' })
  @ApiOkResponse({ schema: { oneOf: [{ $ref: getSchemaPath(AdminMeDto) }, { $ref: getSchemaPath(TenantMeDto) }] } })
  async me(@CurrentPrincipal() principal: Principal): Promise<MeDto> {
    if (principal.kind === 'admin') return { kind: 'admin' };
    return { kind: 'tenant', tenant: TenantDto.from(await this.tenants.get(principal.tenantId)) };
  }
}
