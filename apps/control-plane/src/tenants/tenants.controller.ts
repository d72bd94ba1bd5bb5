import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/auth.decorators';
import { ApiErrorResponses } from '../common/error-body.dto';
import { CreateTenantDto } from './dto/create-tenant.dto';
import { CreatedTenantDto, TenantDto } from './dto/tenant.dto';
import { TenantsService } from './tenants.service';

@ApiTags('tenants')
@ApiBearerAuth()
@ApiErrorResponses(401, 403)
@AdminOnly()
@Controller('v1/tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a tenant and its API key (admin)' })
  @ApiCreatedResponse({ type: CreatedTenantDto })
  @ApiErrorResponses(400, 409)
  async create(@Body() dto: CreateTenantDto): Promise<CreatedTenantDto> {
    const { tenant, apiKey } = await this.tenants.create(dto);
    return { ...TenantDto.from(tenant), apiKey };
  }

  @Get()
  @ApiOperation({ summary: 'List tenants (admin)' })
  @ApiOkResponse({ type: [TenantDto] })
  async list(): Promise<TenantDto[]> {
    return (await this.tenants.list()).map((tenant) => TenantDto.from(tenant));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a tenant (admin)' })
  @ApiOkResponse({ type: TenantDto })
  @ApiErrorResponses(404)
  async get(@Param('id') id: string): Promise<TenantDto> {
    return TenantDto.from(await this.tenants.get(id));
  }
}
