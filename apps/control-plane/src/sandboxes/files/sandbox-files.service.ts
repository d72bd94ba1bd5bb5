import { Injectable } from '@nestjs/common';
import { FILE_CHUNK_BYTES, MAX_FILE_OWNER_ID, containerPathSchema, type SandboxFileInfo } from '@moat/proto';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../../auth/principal';
import { ApiError, ErrorCode } from '../../common/api.error';
import { AppConfig } from '../../config/app-config';
import { AgentChannel } from '../../fleet/agent.channel';
import { SandboxesService } from '../sandboxes.service';
import { ChunkCollector } from './chunk-collector';
import { FileInfoDto, type FileListDto, type UploadedFileDto, type UploadFileQuery } from './files.dto';

/** The bytes of a download and what they are. */
export interface FileDownloadHeaders {
  contentType: string;
  disposition: string;
}

/**
 * Files in a sandbox's container, relayed chunk by chunk through its node: a download reads the
 * next chunk only once the client took the last one, an upload sends the next only once the
 * guest wrote the last, so neither buffers more than a chunk however large the file.
 */
@Injectable()
export class SandboxFilesService {
  constructor(
    private readonly sandboxes: SandboxesService,
    private readonly agents: AgentChannel,
    private readonly config: AppConfig,
  ) {}

  async list(principal: Principal, id: string, path: string): Promise<FileListDto> {
    validPath(path);
    const nodeId = await this.sandboxes.awakeNode(principal, id);
    const { entries, truncated } = await this.agents.fileList(nodeId, { sandboxId: id, path });
    return { path, entries: entries.map((entry) => FileInfoDto.from(entry)), truncated };
  }

  /**
   * Streams the file (or the directory as a tar) into `res`. A failure before the first byte
   * is thrown (the API's error body); after it, the response is cut short, as it can no longer
   * say anything else.
   */
  async download(principal: Principal, id: string, path: string, res: ServerResponse): Promise<void> {
    validPath(path);
    const nodeId = await this.sandboxes.awakeNode(principal, id);
    const transferId = randomUUID();
    const info = await this.agents.fileOpenRead(nodeId, { sandboxId: id, path, transferId });
    let finished = false;
    try {
      const headers = downloadHeaders(info);
      res.statusCode = 200;
      res.setHeader('content-type', headers.contentType);
      res.setHeader('content-disposition', headers.disposition);
      while (!res.destroyed) {
        const chunk = await this.agents.fileRead(nodeId, transferId);
        if (chunk.eof) {
          finished = true;
          break;
        }
        if (!res.write(chunk.data)) await drained(res);
      }
      res.end();
    } catch (error) {
      if (!res.headersSent) throw error;
      res.destroy(error instanceof Error ? error : undefined);
    } finally {
      if (!finished) this.agents.fileClose(nodeId, transferId);
    }
  }

  /** Writes the request body to `query.path`; `created` is false when a file was replaced. */
  async upload(principal: Principal, id: string, query: UploadFileQuery, req: IncomingMessage): Promise<{ file: UploadedFileDto; created: boolean }> {
    // The JSON body parser has read such a body already: its bytes are gone.
    if (/^application\/([\w.+-]+\+)?json\b/i.test(req.headers['content-type'] ?? '')) {
      throw new ApiError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send the file's bytes as application/octet-stream (a JSON content type is parsed, not stored)");
    }
    const limit = this.config.maxFileBytes;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
    validPath(query.path);
    const owner = ownerOf(query);
    const nodeId = await this.sandboxes.awakeNode(principal, id);
    const transferId = randomUUID();
    await this.agents.fileOpenWrite(nodeId, {
      sandboxId: id,
      path: query.path,
      transferId,
      ...(query.mode !== undefined && { mode: parseInt(query.mode, 8) }),
      ...owner,
    });
    try {
      const chunks = new ChunkCollector(FILE_CHUNK_BYTES);
      let total = 0;
      for await (const piece of req as AsyncIterable<Buffer>) {
        total += piece.length;
        if (total > limit) throw tooLarge(limit);
        for (const chunk of chunks.add(piece)) await this.agents.fileWrite(nodeId, transferId, chunk);
      }
      const rest = chunks.flush();
      if (rest) await this.agents.fileWrite(nodeId, transferId, rest);
      const { info, created } = await this.agents.fileCommit(nodeId, transferId);
      return { file: { ...FileInfoDto.from(info), path: query.path }, created };
    } catch (error) {
      this.agents.fileClose(nodeId, transferId);
      throw error;
    }
  }
}

function tooLarge(limit: number): ApiError {
  return new ApiError(ErrorCode.FILE_TOO_LARGE, `the file is larger than the ${limit} bytes an upload may hold (MOAT_FILES_MAX_BYTES)`);
}

function ownerOf({ uid, gid }: UploadFileQuery): { uid: number; gid: number } | Record<string, never> {
  if (uid === undefined && gid === undefined) return {};
  if (uid === undefined || gid === undefined) throw new ApiError(ErrorCode.VALIDATION_FAILED, 'give uid and gid together');
  const ids = { uid: Number(uid), gid: Number(gid) };
  if (ids.uid > MAX_FILE_OWNER_ID || ids.gid > MAX_FILE_OWNER_ID) {
    throw new ApiError(ErrorCode.VALIDATION_FAILED, `uid and gid must be 0-${MAX_FILE_OWNER_ID}`);
  }
  return ids;
}

/** The node refuses what is not a container path; said here, it is the caller's error (400), not the node's. */
function validPath(path: string): void {
  if (!containerPathSchema.safeParse(path).success) {
    throw new ApiError(ErrorCode.FILE_PATH_INVALID, `path must be an absolute container path without NUL characters, got ${JSON.stringify(path.slice(0, 200))}`);
  }
}

export function downloadHeaders(info: SandboxFileInfo): FileDownloadHeaders {
  const directory = info.type === 'directory';
  const name = `${info.name === '/' ? 'root' : info.name}${directory ? '.tar' : ''}`;
  // RFC 6266: a plain ASCII fallback, and the exact name percent-encoded.
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return {
    contentType: directory ? 'application/x-tar' : 'application/octet-stream',
    disposition: `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(name)}`,
  };
}

/** Resolves once the response takes more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const settle = (): void => {
      res.off('drain', settle);
      res.off('close', settle);
      resolve();
    };
    res.once('drain', settle);
    res.once('close', settle);
  });
}
