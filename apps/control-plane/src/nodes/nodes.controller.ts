import { Body, Controller, Get, HttpCode, Param, Patch, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AUDIT_NOTE, type AuditableRequest } from '../audit/audit.interceptor';
import { AdminOnly, Public } from '../auth/auth.decorators';
import { ApiErrorResponses } from '../common/error-body.dto';
import {
  CreateJoinTokenDto,
  DrainNodeDto,
  JoinNodeDto,
  JoinTokenDto,
  NodeCredentialDto,
  UpdateNodeDto,
} from './dto/node-requests.dto';
import { NodeDto } from './node.dto';
import { NodeJoining } from './node-joining.service';
import { NodesService } from './nodes.service';

@ApiTags('nodes')
@Controller('v1/nodes')
export class NodesController {
  constructor(
    private readonly nodes: NodesService,
    private readonly joining: NodeJoining,
  ) {}

  @Get()
  @AdminOnly()
  @ApiBearerAuth()
  @ApiOperation({ summary: 'List nodes with their state, labels, capacity and allocation (admin)' })
  @ApiOkResponse({ type: [NodeDto] })
  @ApiErrorResponses(401, 403)
  list(): Promise<NodeDto[]> {
    return this.nodes.list();
  }

  @Post('join-tokens')
  @AdminOnly()
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Create a single-use join token for a new node (admin)' })
  @ApiCreatedResponse({ type: JoinTokenDto })
  @ApiErrorResponses(400, 401, 403)
  createJoinToken(@Body() dto: CreateJoinTokenDto): Promise<JoinTokenDto> {
    return this.joining.createJoinToken(dto);
  }

  @Post('join')
  @Public()
  @ApiOperation({
    summary: 'Exchange a join token for the node credential (node agents)',
    description: 'The token is spent; the credential is shown only here and authenticates the node from then on.',
  })
  @ApiCreatedResponse({ type: NodeCredentialDto })
  @ApiErrorResponses(400, 401, 409)
  join(@Body() dto: JoinNodeDto): Promise<NodeCredentialDto> {
    return this.joining.join(dto);
  }

  @Get(':id')
  @AdminOnly()
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Get a node (admin)' })
  @ApiOkResponse({ type: NodeDto })
  @ApiErrorResponses(401, 403, 404)
  get(@Param('id') id: string): Promise<NodeDto> {
    return this.nodes.get(id);
  }

  @Patch(':id')
  @AdminOnly()
  @ApiBearerAuth()
  @ApiOperation({ summary: "Replace a node's labels (admin)" })
  @ApiOkResponse({ type: NodeDto })
  @ApiErrorResponses(400, 401, 403, 404)
  update(@Param('id') id: string, @Body() dto: UpdateNodeDto): Promise<NodeDto> {
    return this.nodes.updateLabels(id, dto.labels);
  }

  @Post(':id/cordon')
  @HttpCode(200)
  @AdminOnly()
  @ApiBearerAuth()
  @ApiOperation({ summary: 'No new sandboxes on this node; those there keep running (admin)' })
  @ApiOkResponse({ type: NodeDto })
  @ApiErrorResponses(401, 403, 404)
  cordon(@Param('id') id: string): Promise<NodeDto> {
    return this.nodes.setUnschedulable(id, 'cordoned');
  }

  @Post(':id/uncordon')
  @HttpCode(200)
  @AdminOnly()
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Accept new sandboxes again (admin)' })
  @ApiOkResponse({ type: NodeDto })
  @ApiErrorResponses(401, 403, 404)
  uncordon(@Param('id') id: string): Promise<NodeDto> {
    return this.nodes.setUnschedulable(id, null);
  }

  @Post(':id/drain')
  @HttpCode(200)
  @AdminOnly()
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Drain a node (admin)',
    description:
      'No new placements. With mode "replace" (the default), deployment-managed sandboxes are replaced on other nodes before the old ones stop; ' +
      'sandboxes created directly keep running until deleted. With mode "migrate", every running sandbox that can live-migrate ' +
      '(rootfs "block", not a deployment\'s replica) moves to where the scheduler places it while it runs, a few at a time; the others fall back to ' +
      '"replace" handling. Each sandbox gets an event saying which (DRAIN_MIGRATED, or DRAIN_FALLBACK with the reason). The mode is audited.',
  })
  @ApiOkResponse({ type: NodeDto })
  @ApiErrorResponses(400, 401, 403, 404)
  async drain(@Param('id') id: string, @Body() dto: DrainNodeDto, @Req() request: AuditableRequest): Promise<NodeDto> {
    const mode = dto.mode ?? 'replace';
    const view = await this.nodes.setUnschedulable(id, 'draining', mode);
    const note = request[AUDIT_NOTE];
    if (note) note.detail = `mode: ${mode}`;
    return view;
  }
}
