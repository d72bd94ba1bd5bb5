import { Controller, Get, Header, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { IncomingMessage } from 'node:http';
import { Public } from '../auth/auth.decorators';
import { AuthService } from '../auth/auth.service';
import { parseBearer } from '../auth/token';
import { ErrorCode, ApiError } from '../common/api.error';
import { ApiErrorResponses } from '../common/error-body.dto';
import { MetricsService } from './metrics.service';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly auth: AuthService,
  ) {}

  @Get()
  @Public()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({
    summary: 'Prometheus metrics',
    description: 'Open to scrapers on the loopback interface; from anywhere else it needs the admin token.',
  })
  @ApiOkResponse({ description: 'Prometheus text exposition format' })
  @ApiErrorResponses(401)
  async scrape(@Req() request: IncomingMessage): Promise<string> {
    if (!LOOPBACK.has(request.socket.remoteAddress ?? '')) {
      const token = parseBearer(request.headers.authorization);
      if (!token || !this.auth.isAdminToken(token)) {
        throw new ApiError(ErrorCode.UNAUTHENTICATED, 'metrics need the admin token from outside this host');
      }
    }
    return this.metrics.registry.metrics();
  }
}
