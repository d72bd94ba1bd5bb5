import { Controller, Get, Param, Put, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CurrentPrincipal } from '../../auth/auth.decorators';
import type { Principal } from '../../auth/principal';
import { ApiErrorResponses } from '../../common/error-body.dto';
import { FileListDto, ReadFilesQuery, UploadedFileDto, UploadFileQuery } from './files.dto';
import { SandboxFilesService } from './sandbox-files.service';

const BINARY = { type: 'string', format: 'binary' } as const;
/** What of a refused upload's body is still worth reading to keep its connection. */
const SMALL_REST_BYTES = 64 * 1024;

@ApiTags('sandboxes')
@ApiBearerAuth()
@ApiErrorResponses(401)
@ApiExtraModels(FileListDto)
@Controller('v1/sandboxes')
export class FilesController {
  constructor(private readonly files: SandboxFilesService) {}

  @Get(':id/files')
  @ApiOperation({
    summary: "Download a file or directory from the sandbox's container, or list a directory",
    description:
      'A regular file comes as `application/octet-stream`, a directory as an `application/x-tar` stream of its tree ' +
      '(symlinks kept as links; devices, FIFOs and sockets left out); with `list=true`, the entries as JSON. ' +
      'Streamed: the sandbox is read only as fast as the client reads. Files are what the container sees, its own mounts included.',
  })
  @ApiOkResponse({
    description: 'The file, the tar of the directory, or with `list=true` the listing',
    content: {
      'application/octet-stream': { schema: BINARY },
      'application/x-tar': { schema: BINARY },
      'application/json': { schema: { $ref: getSchemaPath(FileListDto) } },
    },
  })
  @ApiErrorResponses(400, 404, 409, 429, 502, 503, 504)
  async read(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() query: ReadFilesQuery,
    @Res() res: ServerResponse,
  ): Promise<void> {
    if (query.list === 'true') return sendJson(res, 200, await this.files.list(principal, id, query.path));
    await this.files.download(principal, id, query.path, res);
  }

  @Put(':id/files')
  @ApiOperation({
    summary: "Upload a file into the sandbox's container",
    description:
      'The request body is the file, streamed (any content type but JSON; `application/octet-stream` is usual). Missing ' +
      'directories on the way are made. The file appears at `path` only once complete: an upload cut short leaves the path ' +
      'as it was. A symlink at `path` is replaced, not written through. Larger than `MOAT_FILES_MAX_BYTES` (default 1 GiB): 413.',
  })
  @ApiConsumes('application/octet-stream')
  @ApiBody({ required: true, schema: BINARY })
  @ApiCreatedResponse({ type: UploadedFileDto, description: 'Written; there was no file at the path' })
  @ApiOkResponse({ type: UploadedFileDto, description: 'Written in place of the file that was at the path' })
  @ApiErrorResponses(400, 404, 409, 413, 415, 429, 502, 503, 504, 507)
  async write(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() query: UploadFileQuery,
    @Req() req: IncomingMessage,
    @Res() res: ServerResponse,
  ): Promise<void> {
    try {
      const { file, created } = await this.files.upload(principal, id, query, req);
      sendJson(res, created ? 201 : 200, file);
    } catch (error) {
      // A large upload refused before its end is not read further: the connection closes after
      // the answer. A small rest is read and dropped by Node, and the connection stays usable.
      if (!req.complete && !(Number(req.headers['content-length']) <= SMALL_REST_BYTES)) res.setHeader('connection', 'close');
      throw error;
    }
  }
}

/** A JSON answer written by hand, for routes that own their response (a status known only at the end, a stream). */
function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}
