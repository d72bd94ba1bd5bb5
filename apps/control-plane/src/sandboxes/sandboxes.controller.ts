import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { ApiErrorResponses } from '../common/error-body.dto';
import { serverTiming } from '../common/server-timing';
import { CreateSandboxDto } from './dto/create-sandbox.dto';
import { ExecDto, ExecResultDto, SandboxStatsDto } from './dto/exec.dto';
import { ListSandboxesQuery } from './dto/list-sandboxes.query';
import { MigrateSandboxDto } from './dto/migrate-sandbox.dto';
import { SandboxDto } from './dto/sandbox.dto';
import { SandboxMovesService } from './sandbox-moves.service';
import { SandboxesService } from './sandboxes.service';

@ApiTags('sandboxes')
@ApiBearerAuth()
@ApiErrorResponses(401)
@Controller('v1/sandboxes')
export class SandboxesController {
  constructor(
    private readonly sandboxes: SandboxesService,
    private readonly moves: SandboxMovesService,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Create a sandbox',
    description: 'With a tenant key, for that tenant; with the admin token, for `tenantId` or the "default" tenant.',
  })
  @ApiCreatedResponse({ type: SandboxDto })
  @ApiErrorResponses(400, 403, 404, 413)
  async create(@CurrentPrincipal() principal: Principal, @Body() dto: CreateSandboxDto): Promise<SandboxDto> {
    return SandboxDto.from(await this.sandboxes.create(principal, dto));
  }

  @Get()
  @ApiOperation({
    summary: 'List sandboxes (a tenant sees its own, the admin all)',
    description:
      'The admin also sees, after Moat\'s own, the sandboxes containerd started on the nodes (`origin: "containerd"`, with their task), ' +
      'as their nodes last reported them; none when the query names a tenant or a deployment.',
  })
  @ApiOkResponse({ type: [SandboxDto] })
  @ApiErrorResponses(400)
  async list(@CurrentPrincipal() principal: Principal, @Query() query: ListSandboxesQuery): Promise<SandboxDto[]> {
    const own = (await this.sandboxes.list(principal, query)).map((sandbox) => SandboxDto.from(sandbox));
    const containerd = (await this.sandboxes.listContainerd(principal, query)).map((sandbox) => SandboxDto.fromContainerd(sandbox));
    return [...own, ...containerd];
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a sandbox', description: 'The admin may also get a sandbox containerd started (`origin: "containerd"`).' })
  @ApiOkResponse({ type: SandboxDto })
  @ApiErrorResponses(404)
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<SandboxDto> {
    return this.sandboxes.describe(principal, id);
  }

  @Delete(':id')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Delete a sandbox',
    description:
      'It is `stopping` until its node reports it gone; then GET answers 404. Repeating is harmless. ' +
      'A sandbox containerd started answers 409 MANAGED_BY_CONTAINERD (delete it through containerd), as does every other change of one.',
  })
  @ApiAcceptedResponse({ type: SandboxDto })
  @ApiErrorResponses(404, 409)
  async delete(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<SandboxDto> {
    return SandboxDto.from(await this.sandboxes.delete(principal, id));
  }

  @Post(':id/pause')
  @HttpCode(204)
  @ApiOperation({
    summary: "Freeze the sandbox's container",
    description: 'Every process of the container stops (cgroup v2 freezer) until resumed; the VM and its agent keep running.',
  })
  @ApiNoContentResponse({ description: 'Frozen' })
  @ApiErrorResponses(404, 409, 502, 503, 504)
  async pause(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<void> {
    await this.sandboxes.setPaused(principal, id, true);
  }

  @Post(':id/resume')
  @HttpCode(204)
  @ApiOperation({ summary: "Thaw a paused sandbox's container" })
  @ApiNoContentResponse({ description: 'Running again' })
  @ApiErrorResponses(404, 409, 502, 503, 504)
  async resume(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<void> {
    await this.sandboxes.setPaused(principal, id, false);
  }

  @Post(':id/hibernate')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Hibernate a sandbox',
    description:
      "Its node saves the VM (memory, devices, writable rootfs) and releases it: `hibernating`, then `hibernated` with `savedBytes`. " +
      "A hibernated sandbox holds no vCPUs or memory on its node or of its tenant's quota (it still counts as a sandbox). " +
      'Only a sandbox created with `rootfs: "block"` can hibernate: any other answers 409 HIBERNATE_UNSUPPORTED; one that is not running 409 SANDBOX_NOT_RUNNING. ' +
      'Asking again while it hibernates or is hibernated changes nothing. A node that cannot save it keeps it running and says why in its events ' +
      '(HIBERNATE_UNSUPPORTED or HIBERNATE_FAILED); it is then no longer asked to hibernate.',
  })
  @ApiAcceptedResponse({ type: SandboxDto })
  @ApiErrorResponses(404, 409)
  async hibernate(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<SandboxDto> {
    return SandboxDto.from(await this.moves.setHibernated(principal, id, true));
  }

  @Post(':id/wake')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Wake a hibernated sandbox',
    description:
      'Its node restores the VM where it was saved: `waking`, then `running`, on the same node. ' +
      'When that node is cordoned, draining or has no room for it, the scheduler picks another (as for a create) and the saved state moves there ' +
      'from node to node before it wakes (`waking` meanwhile; a failed move leaves it `hibernated` on its node, its latest event saying MOVE_FAILED): ' +
      '409 INSUFFICIENT_RESOURCES when no node has room (with the largest free capacity), 409 SAVED_STATE_UNREACHABLE while its node is down. ' +
      "Its vCPUs and memory count against its tenant's quota again at once: 403 QUOTA_EXCEEDED when they no longer fit. " +
      'Waking a sandbox that runs, or is already waking, changes nothing; one neither running nor hibernated answers 409 SANDBOX_NOT_RUNNING.',
  })
  @ApiAcceptedResponse({ type: SandboxDto })
  @ApiErrorResponses(403, 404, 409)
  async wake(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<SandboxDto> {
    return SandboxDto.from(await this.moves.setHibernated(principal, id, false));
  }

  @Post(':id/migrate')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Live-migrate a running sandbox to another node',
    description:
      'Its VM moves to another node while it runs (QEMU pre-copy between the two node agents; its writable disk travels in the same stream): ' +
      'to `nodeId` when given, else where the scheduler places it among the other nodes. It keeps its id, its address and its processes. ' +
      'It is `migrating` on its node meanwhile, then `running` on the target (event MIGRATED with the bytes sent, the downtime and the total time); ' +
      'a failed migration leaves it `running` on its node, its latest event MIGRATION_FAILED with the reason. ' +
      'Only a sandbox created with `rootfs: "block"` can migrate (409 MIGRATION_UNSUPPORTED); one that is not running, or migrating already, answers 409 SANDBOX_NOT_RUNNING. ' +
      'A `nodeId` that names no node answers 404 NODE_NOT_FOUND; its own node, or one not ready (cordoned, draining, down), 409 INVALID_STATE; ' +
      'one without room for it, or no other node fitting it, 409 INSUFFICIENT_RESOURCES.',
  })
  @ApiAcceptedResponse({ type: SandboxDto })
  @ApiErrorResponses(400, 404, 409)
  async migrate(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Body() dto: MigrateSandboxDto): Promise<SandboxDto> {
    return SandboxDto.from(await this.moves.migrate(principal, id, dto.nodeId));
  }

  @Get(':id/stats')
  @ApiOperation({ summary: "The container's live resource use (cgroup v2 CPU, memory, pids, I/O)" })
  @ApiOkResponse({ type: SandboxStatsDto })
  @ApiErrorResponses(404, 409, 502, 503, 504)
  stats(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<SandboxStatsDto> {
    return this.sandboxes.stats(principal, id);
  }

  @Post(':id/exec')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Run a command in a running sandbox and wait for it to finish',
    description:
      'For an interactive session (a shell on a TTY with resize, or a stream without size limit) use the socket.io ' +
      'namespace `/attach` instead: connect with `auth: {token}`, emit `attach:start {sandboxId, command?, tty?, window?}`, ' +
      'then `attach:input` (acknowledged), `attach:resize {rows, cols}`, `attach:eof`, `attach:signal`; the server emits ' +
      '`attach:output {stream, data}` (acknowledge each), `attach:exit` and `attach:error`. See docs/api.md (Interactive sessions). ' +
      'The `Server-Timing` header says where the time went: `lookup` (finding the sandbox), `node` (the round trip to its node) and ' +
      '`guest` (of that, the guest\'s part as the node measured it), in ms.',
  })
  @ApiOkResponse({ type: ExecResultDto })
  @ApiErrorResponses(400, 404, 409, 413, 502, 503, 504)
  async exec(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() dto: ExecDto,
    @Res({ passthrough: true }) res: { setHeader(name: string, value: string): void },
  ): Promise<ExecResultDto> {
    const { result, timings } = await this.sandboxes.exec(principal, id, dto);
    res.setHeader('Server-Timing', serverTiming(timings));
    return result;
  }
}
