import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { ApiErrorResponses } from '../common/error-body.dto';
import { DeploymentsService } from './deployments.service';
import { CreateDeploymentDto, UpdateDeploymentDto } from './dto/create-deployment.dto';
import { DeploymentDto } from './dto/deployment.dto';

@ApiTags('deployments')
@ApiBearerAuth()
@ApiErrorResponses(401)
@Controller('v1/deployments')
export class DeploymentsController {
  constructor(private readonly deployments: DeploymentsService) {}

  @Post()
  @ApiOperation({
    summary: 'Create a deployment',
    description: 'Keeps `replicas` healthy sandboxes of a template version (or one per matching node with `perNode`).',
  })
  @ApiCreatedResponse({ type: DeploymentDto })
  @ApiErrorResponses(400, 403, 404)
  async create(@CurrentPrincipal() principal: Principal, @Body() dto: CreateDeploymentDto): Promise<DeploymentDto> {
    return this.deployments.view(await this.deployments.create(principal, dto));
  }

  @Get()
  @ApiOperation({ summary: 'List deployments (a tenant sees its own, the admin all)' })
  @ApiOkResponse({ type: [DeploymentDto] })
  async list(@CurrentPrincipal() principal: Principal): Promise<DeploymentDto[]> {
    return this.deployments.views(await this.deployments.list(principal));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a deployment' })
  @ApiOkResponse({ type: DeploymentDto })
  @ApiErrorResponses(404)
  async get(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<DeploymentDto> {
    return this.deployments.view(await this.deployments.get(principal, id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change the replica count' })
  @ApiOkResponse({ type: DeploymentDto })
  @ApiErrorResponses(400, 404, 409)
  async update(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() dto: UpdateDeploymentDto,
  ): Promise<DeploymentDto> {
    return this.deployments.view(await this.deployments.scale(principal, id, dto.replicas));
  }

  @Delete(':id')
  @HttpCode(202)
  @ApiOperation({ summary: 'Delete a deployment', description: 'Its sandboxes stop; then GET answers 404.' })
  @ApiAcceptedResponse({ type: DeploymentDto })
  @ApiErrorResponses(404)
  async delete(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<DeploymentDto> {
    return this.deployments.view(await this.deployments.delete(principal, id));
  }
}
