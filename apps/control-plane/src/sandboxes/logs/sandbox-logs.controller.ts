import { Controller, Get, Headers, Logger, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { ServerResponse } from 'node:http';
import { CurrentPrincipal } from '../../auth/auth.decorators';
import type { Principal } from '../../auth/principal';
import { ApiErrorResponses } from '../../common/error-body.dto';
import { LogEventStream } from './log-event-stream';
import { parseSince } from './log-since';
import { LogsQuery } from './logs.query';
import { SandboxLogsService } from './sandbox-logs.service';

const EVENT_STREAM = 'text/event-stream';
const PLAIN_TEXT = 'text/plain; charset=utf-8';
const LAST_EVENT_ID = /^\d{1,16}$/;

@ApiTags('sandboxes')
@ApiBearerAuth()
@ApiErrorResponses(401)
@Controller('v1/sandboxes')
export class SandboxLogsController {
  private readonly logger = new Logger(SandboxLogsController.name);

  constructor(private readonly sandboxLogs: SandboxLogsService) {}

  @Get(':id/logs')
  @ApiOperation({
    summary: "What the sandbox's main process wrote to stdout and stderr",
    description:
      "Kept on the sandbox's node in a ring of MOAT_LOG_BUFFER_BYTES per sandbox (oldest dropped first), from the container's start " +
      '(or its node agent\'s last restart) until the sandbox is deleted; a failed sandbox\'s last output stays readable. ' +
      'As `text/plain` (the default): the bytes of both streams in order, chunked. As `text/event-stream` (ask with `Accept`): ' +
      'one event per chunk, `event: stdout|stderr`, `id: <seq>` (send it back as `Last-Event-ID` to resume after it), ' +
      '`data: {"time": RFC 3339, "text": …}`, and a final `event: end` once the process\'s output has ended. ' +
      'Without `follow` the answer ends once everything held was sent.',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume right after this event id (a seq of an earlier answer); `since` and `tail` are then ignored' })
  @ApiOkResponse({
    description: 'The output, streamed',
    content: {
      'text/plain': { schema: { type: 'string', description: 'The bytes of stdout and stderr in the order they were read' } },
      [EVENT_STREAM]: { schema: { type: 'string', description: 'Server-sent events: stdout, stderr and end' } },
    },
  })
  @ApiErrorResponses(400, 404, 409, 502, 503, 504)
  async logs(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() query: LogsQuery,
    @Headers('accept') accept: string | undefined,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() res: ServerResponse,
  ): Promise<void> {
    const nodeId = await this.sandboxLogs.nodeOf(principal, id);
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const after = lastEventId !== undefined && LAST_EVENT_ID.test(lastEventId) ? Number(lastEventId) : undefined;
    // A reconnecting EventSource sends its first URL again, `tail` and `since` included: resuming,
    // they would skip what came after the last event it saw.
    const window =
      after !== undefined
        ? { after }
        : { sinceMs: query.since === undefined ? undefined : parseSince(query.since, Date.now()), tail: query.tail };
    const pages = this.sandboxLogs.pages(nodeId, id, { ...window, follow: query.follow ?? false }, gone.signal);
    // The first page is read before answering, so a refusal still gets its status and error body.
    const first = await pages.next();
    const events = accept?.includes(EVENT_STREAM) ? new LogEventStream() : undefined;
    res.writeHead(200, {
      'Content-Type': events ? EVENT_STREAM : PLAIN_TEXT,
      'Cache-Control': 'no-cache',
      // Stops nginx and the like from holding the stream back until it ends.
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    try {
      for (let next = first; !next.done; next = await pages.next()) {
        const page = next.value;
        if (events) {
          if (page.dropped) await write(res, events.comment(`${page.dropped} entries dropped: the node keeps only the newest`));
          for (const entry of page.entries) await write(res, events.entry(entry));
          if (page.ended) await write(res, events.end());
          else if (page.entries.length === 0) await write(res, events.comment('waiting'));
        } else {
          for (const entry of page.entries) await write(res, entry.data);
        }
      }
    } catch (error) {
      // The status is sent; all a failure (the node went, the sandbox was deleted) can do now is
      // end the answer without the end event, which tells the client it broke off.
      this.logger.warn(`the logs of sandbox ${id} broke off: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await pages.return(undefined);
      res.end();
    }
  }
}

/** Writes and waits while the client's buffer is full; a client gone makes it return at once. */
async function write(res: ServerResponse, chunk: string | Uint8Array): Promise<void> {
  if (res.destroyed || res.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
