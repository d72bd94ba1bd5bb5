import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { ApiErrorResponses } from '../common/error-body.dto';
import { ApiError, ErrorCode } from '../common/api.error';
import { CreatedRolloutDto, CreateRolloutDto, RolloutDto } from '../rollouts/dto/rollout.dto';
import type { RolloutAction } from '../rollouts/rollout.transitions';
import { RolloutsService } from './rollouts.service';

const ACTIONS: readonly RolloutAction[] = ['pause', 'resume', 'abort', 'promote'];

@ApiTags('rollouts')
@ApiBearerAuth()
@ApiErrorResponses(401)
@Controller('v1')
export class RolloutsController {
  constructor(private readonly rollouts: RolloutsService) {}

  @Post('deployments/:id/rollouts')
  @ApiOperation({ summary: "Roll a deployment out to another template version with the deployment's strategy" })
  @ApiCreatedResponse({ type: CreatedRolloutDto })
  @ApiErrorResponses(400, 404, 409)
  async create(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() dto: CreateRolloutDto,
  ): Promise<CreatedRolloutDto> {
    return { id: (await this.rollouts.create(principal, id, dto.templateVersion)).id };
  }

  @Get('deployments/:id/rollouts')
  @ApiOperation({ summary: "A deployment's rollouts, newest first" })
  @ApiOkResponse({ type: [RolloutDto] })
  @ApiErrorResponses(404)
  async list(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<RolloutDto[]> {
    return (await this.rollouts.listFor(principal, id)).map((rollout) => RolloutDto.from(rollout));
  }

  @Get('rollouts/:id')
  @ApiOperation({ summary: 'Get a rollout: state, steps and progress' })
  @ApiOkResponse({ type: RolloutDto })
  @ApiErrorResponses(404)
  async get(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<RolloutDto> {
    return RolloutDto.from(await this.rollouts.get(principal, id));
  }

  @Post('rollouts/:id/:action')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Pause, resume, abort or promote a rollout',
    description: 'abort returns the deployment to the version the rollout started from; promote is for canary and blue-green.',
  })
  @ApiParam({ name: 'action', enum: ACTIONS })
  @ApiOkResponse({ type: RolloutDto })
  @ApiErrorResponses(404, 409)
  async act(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Param('action') action: string,
  ): Promise<RolloutDto> {
    const known = ACTIONS.find((a) => a === action);
    if (!known) throw new ApiError(ErrorCode.NOT_FOUND, `no rollout action "${action}"`);
    return RolloutDto.from(await this.rollouts.act(principal, id, known));
  }
}
