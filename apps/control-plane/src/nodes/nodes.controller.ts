import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/auth.decorators';
import { ApiErrorResponses } from '../common/error-body.dto';
import { NodeDto } from './node.dto';
import { NodesService } from './nodes.service';

@ApiTags('nodes')
@ApiBearerAuth()
@ApiErrorResponses(401, 403)
@AdminOnly()
@Controller('v1/nodes')
export class NodesController {
  constructor(private readonly nodes: NodesService) {}

  @Get()
  @ApiOperation({ summary: 'List nodes with their capacity and allocation (admin)' })
  @ApiOkResponse({ type: [NodeDto] })
  list(): Promise<NodeDto[]> {
    return this.nodes.list();
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a node (admin)' })
  @ApiOkResponse({ type: NodeDto })
  @ApiErrorResponses(404)
  get(@Param('id') id: string): Promise<NodeDto> {
    return this.nodes.get(id);
  }
}
