import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { ApiErrorResponses } from '../common/error-body.dto';
import { PositiveIntPipe } from '../common/positive-int.pipe';
import { MAX_INTEGER_COLUMN } from '../common/integer-column';
import {
  TemplateDetailDto,
  TemplateSummaryDto,
  TemplateVersionDto,
  TemplateVersionWithTemplateDto,
} from './dto/template.dto';
import { CreateTemplateDto, specOf, TemplateSpecDto } from './dto/template-spec.dto';
import { TemplatesService } from './templates.service';

@ApiTags('templates')
@ApiBearerAuth()
@ApiErrorResponses(401)
@Controller('v1/templates')
export class TemplatesController {
  constructor(private readonly templates: TemplatesService) {}

  @Post()
  @ApiOperation({
    summary: 'Create a template (version 1)',
    description: 'With a tenant key, for that tenant; with the admin token, for `tenantId` or the "default" tenant.',
  })
  @ApiCreatedResponse({ type: TemplateVersionWithTemplateDto })
  @ApiErrorResponses(400, 403, 404, 409)
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: CreateTemplateDto,
  ): Promise<TemplateVersionWithTemplateDto> {
    const { template, version } = await this.templates.create(principal, dto.name, dto.tenantId, specOf(dto));
    return TemplateVersionWithTemplateDto.of(template, version);
  }

  @Post(':id/versions')
  @ApiOperation({ summary: 'Add the next (immutable) version of a template' })
  @ApiCreatedResponse({ type: TemplateVersionWithTemplateDto })
  @ApiErrorResponses(400, 404)
  async addVersion(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() dto: TemplateSpecDto,
  ): Promise<TemplateVersionWithTemplateDto> {
    const { template, version } = await this.templates.addVersion(principal, id, specOf(dto));
    return TemplateVersionWithTemplateDto.of(template, version);
  }

  @Get()
  @ApiOperation({ summary: 'List templates (a tenant sees its own, the admin all)' })
  @ApiOkResponse({ type: [TemplateSummaryDto] })
  async list(@CurrentPrincipal() principal: Principal): Promise<TemplateSummaryDto[]> {
    return (await this.templates.list(principal)).map((template) => TemplateSummaryDto.from(template));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a template with all its versions' })
  @ApiOkResponse({ type: TemplateDetailDto })
  @ApiErrorResponses(404)
  async get(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<TemplateDetailDto> {
    const template = await this.templates.get(principal, id);
    const versions = await this.templates.listVersions(principal, id);
    return { ...TemplateSummaryDto.from(template), versions: versions.map((v) => TemplateVersionDto.from(v)) };
  }

  @Get(':id/versions/:version')
  @ApiOperation({ summary: 'Get one version of a template' })
  @ApiParam({ name: 'version', schema: { type: 'integer', minimum: 1, maximum: MAX_INTEGER_COLUMN } })
  @ApiOkResponse({ type: TemplateVersionWithTemplateDto })
  @ApiErrorResponses(400, 404)
  async getVersion(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Param('version', PositiveIntPipe) version: number,
  ): Promise<TemplateVersionWithTemplateDto> {
    const template = await this.templates.get(principal, id);
    return TemplateVersionWithTemplateDto.of(template, await this.templates.getVersion(principal, id, version));
  }
}
