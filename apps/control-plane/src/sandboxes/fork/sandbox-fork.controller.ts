import { Body, Controller, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MAX_FORK_CLONES } from '@moat/proto';
import { AuditDetail } from '../../audit/audit-action';
import { CurrentPrincipal } from '../../auth/auth.decorators';
import type { Principal } from '../../auth/principal';
import { ApiErrorResponses } from '../../common/error-body.dto';
import { SandboxDto } from '../dto/sandbox.dto';
import { forkedInto } from '../model/fork';
import { ForkSandboxDto } from './fork-sandbox.dto';
import { SandboxForkService } from './sandbox-fork.service';

@ApiTags('sandboxes')
@ApiBearerAuth()
@ApiErrorResponses(401)
@Controller('v1/sandboxes')
export class SandboxForkController {
  constructor(private readonly forks: SandboxForkService) {}

  @Post(':id/fork')
  @ApiOperation({
    summary: 'Fork a running sandbox into clones',
    description:
      `\`count\` (1–${MAX_FORK_CLONES}, default 1) new sandboxes that start with the source's memory, processes and files: its node captures it once ` +
      '(pausing it for about a second) and starts each clone from that capture, with its own id, hostname, MAC, address, RNG and writable rootfs copy. ' +
      "Each clone has the source's spec (size, image, command, env, rootfs, labels, network settings; published ports without the source's host ports), " +
      '`forkedFrom` naming it, no deployment, and restart policy `never`; it runs on the source\'s node and stays when the source is deleted. ' +
      'Only a running sandbox created with `rootfs: "block"` can be forked: any other answers 409 FORK_UNSUPPORTED, one not running 409 SANDBOX_NOT_RUNNING. ' +
      "All clones or none: 403 QUOTA_EXCEEDED when the tenant's quota has no room for them, 409 INSUFFICIENT_RESOURCES when the source's node has not their vCPUs and memory free, " +
      '409 INVALID_STATE when it is cordoned or draining. A clone whose source no longer runs on its node when it starts fails with FORK_FAILED.',
  })
  @ApiCreatedResponse({ type: [SandboxDto], description: 'The clones, placed on the source\'s node' })
  @ApiErrorResponses(400, 403, 404, 409)
  @AuditDetail(forkedInto)
  async fork(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Body() dto: ForkSandboxDto): Promise<SandboxDto[]> {
    return (await this.forks.fork(principal, id, dto.count ?? 1)).map((clone) => SandboxDto.from(clone));
  }
}
