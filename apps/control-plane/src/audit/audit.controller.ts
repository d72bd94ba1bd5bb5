import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { ApiErrorResponses } from '../common/error-body.dto';
import { AuditPageDto } from './audit-entry.dto';
import { AuditQuery } from './audit.query';
import { AuditService } from './audit.service';

@ApiTags('audit')
@ApiBearerAuth()
@ApiErrorResponses(401)
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: 'The audit log, newest first (the admin sees all, a tenant its own)' })
  @ApiOkResponse({ type: AuditPageDto })
  @ApiErrorResponses(400)
  list(@CurrentPrincipal() principal: Principal, @Query() query: AuditQuery): Promise<AuditPageDto> {
    return this.audit.list(principal, query);
  }
}
