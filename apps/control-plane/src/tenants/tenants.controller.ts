import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AdminOnly, CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { ApiErrorResponses } from '../common/error-body.dto';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';
import { CreateTenantDto } from './dto/create-tenant.dto';
import { CreatedTenantDto, TenantDto } from './dto/tenant.dto';
import { UpdateTenantDto } from './dto/update-tenant.dto';
import { UsageDto } from './dto/usage.dto';
import { TenantsService } from './tenants.service';

@ApiTags('tenants')
@ApiBearerAuth()
@ApiErrorResponses(401, 403)
@Controller('v1/tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @AdminOnly()
  @ApiOperation({ summary: 'Create a tenant and its API key (admin)' })
  @ApiCreatedResponse({ type: CreatedTenantDto })
  @ApiErrorResponses(400, 409)
  async create(@Body() dto: CreateTenantDto): Promise<CreatedTenantDto> {
    const { tenant, apiKey } = await this.tenants.create(dto);
    return { ...TenantDto.from(tenant), apiKey };
  }

  @Get()
  @AdminOnly()
  @ApiOperation({ summary: 'List tenants (admin)' })
  @ApiOkResponse({ type: [TenantDto] })
  async list(): Promise<TenantDto[]> {
    return (await this.tenants.list()).map((tenant) => TenantDto.from(tenant));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a tenant (admin, or the tenant itself)' })
  @ApiOkResponse({ type: TenantDto })
  @ApiErrorResponses(404)
  async get(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<TenantDto> {
    return TenantDto.from(await this.tenants.visibleTo(principal, id));
  }

  @Patch(':id')
  @AdminOnly()
  @ApiOperation({ summary: 'Change a tenant quota (admin)' })
  @ApiOkResponse({ type: TenantDto })
  @ApiErrorResponses(400, 404)
  async update(@Param('id') id: string, @Body() dto: UpdateTenantDto): Promise<TenantDto> {
    return TenantDto.from(await this.tenants.update(id, dto));
  }

  @Post(':id/suspend')
  @HttpCode(200)
  @AdminOnly()
  @ApiOperation({ summary: 'Suspend a tenant: it can still read, but not create sandboxes (admin)' })
  @ApiOkResponse({ type: TenantDto })
  @ApiErrorResponses(404)
  async suspend(@Param('id') id: string): Promise<TenantDto> {
    return TenantDto.from(await this.tenants.setState(id, 'suspended'));
  }

  @Post(':id/resume')
  @HttpCode(200)
  @AdminOnly()
  @ApiOperation({ summary: 'Resume a suspended tenant (admin)' })
  @ApiOkResponse({ type: TenantDto })
  @ApiErrorResponses(404)
  async resume(@Param('id') id: string): Promise<TenantDto> {
    return TenantDto.from(await this.tenants.setState(id, 'active'));
  }

  @Get(':id/usage')
  @ApiOperation({ summary: 'What the tenant uses, against its quota (admin, or the tenant itself)' })
  @ApiOkResponse({ type: UsageDto })
  @ApiErrorResponses(404)
  usage(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<UsageDto> {
    return this.tenants.usage(principal, id);
  }

  @Get(':id/api-keys')
  @ApiOperation({ summary: 'List the tenant API keys, revoked ones included (admin, or the tenant itself)' })
  @ApiOkResponse({ type: [ApiKeyDto] })
  @ApiErrorResponses(404)
  async listKeys(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<ApiKeyDto[]> {
    return (await this.tenants.listKeys(principal, id)).map((key) => ApiKeyDto.from(key));
  }

  @Post(':id/api-keys')
  @ApiOperation({ summary: 'Create an API key; the key is shown only in this response' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiErrorResponses(400, 404)
  async createKey(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() dto: CreateApiKeyDto,
  ): Promise<CreatedApiKeyDto> {
    const { entity, key } = await this.tenants.createKey(principal, id, dto.name);
    return { id: entity.id, name: entity.name, prefix: entity.prefix, key, createdAt: entity.createdAt.toISOString() };
  }

  @Delete(':id/api-keys/:keyId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key: it is answered with 401 from now on' })
  @ApiNoContentResponse()
  @ApiErrorResponses(404)
  revokeKey(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Param('keyId') keyId: string,
  ): Promise<void> {
    return this.tenants.revokeKey(principal, id, keyId);
  }
}
