import {
  fileCommitSchema,
  fileInfoSchema,
  fileListSchema,
  FILE_CHUNK_BYTES,
  type SandboxFileCommit,
  type SandboxFileInfo,
  type SandboxFileList,
} from '@moat/proto';
import type { z } from 'zod';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { AgentChannel } from './agent.channel';
import { protocolViolation } from './agent.validation';

/** The owner and permission bits of a file being written; absent: the guest's defaults (0644, the container's user). */
export interface FileWriteOptions {
  mode?: number;
  owner?: { uid: number; gid: number };
}

/** What the runtime needs of a guest's container files (lets tests substitute a fake). */
export interface GuestFilesApi {
  stat(containerId: string, path: string): Promise<SandboxFileInfo>;
  list(containerId: string, path: string): Promise<SandboxFileList>;
  openRead(containerId: string, path: string): Promise<{ handle: number; info: SandboxFileInfo }>;
  /** The next chunk; empty at the end. */
  read(handle: number, signal: AbortSignal): Promise<Buffer>;
  openWrite(containerId: string, path: string, options: FileWriteOptions): Promise<number>;
  write(handle: number, data: Uint8Array): Promise<void>;
  commit(handle: number): Promise<SandboxFileCommit>;
  close(handle: number): Promise<void>;
}

/** Guest codes that say what was wrong with the request, kept as the runtime's own. */
const GUEST_FILE_CODES: Record<string, RuntimeErrorCode> = {
  FILE_NOT_FOUND: RuntimeErrorCode.FILE_NOT_FOUND,
  FILE_PATH_INVALID: RuntimeErrorCode.FILE_PATH_INVALID,
  FILE_NO_SPACE: RuntimeErrorCode.FILE_NO_SPACE,
  FILE_NOT_WRITABLE: RuntimeErrorCode.FILE_NOT_WRITABLE,
  FILE_HANDLES_EXHAUSTED: RuntimeErrorCode.FILE_TRANSFERS_EXHAUSTED,
};

/**
 * Container files through the guest agent (StatFile … CloseFile). Replies are validated like
 * every other guest answer; a guest's file error keeps its meaning (not found, bad path, full)
 * so the API can answer 404, 400 or 507 instead of a gateway error.
 */
export class GuestFiles implements GuestFilesApi {
  constructor(private readonly grpc: AgentChannel) {}

  async stat(containerId: string, path: string): Promise<SandboxFileInfo> {
    const reply = await this.call('StatFile', () => this.grpc.unary(this.grpc.agent.statFile.bind(this.grpc.agent), { containerId, path }, 'StatFile'));
    return valid(fileInfoSchema, reply, 'StatFile');
  }

  async list(containerId: string, path: string): Promise<SandboxFileList> {
    const reply = await this.call('ListFiles', () => this.grpc.unary(this.grpc.agent.listFiles.bind(this.grpc.agent), { containerId, path }, 'ListFiles'));
    return valid(fileListSchema, reply, 'ListFiles');
  }

  async openRead(containerId: string, path: string): Promise<{ handle: number; info: SandboxFileInfo }> {
    const reply = await this.call('OpenRead', () => this.grpc.unary(this.grpc.agent.openRead.bind(this.grpc.agent), { containerId, path }, 'OpenRead'));
    return { handle: validHandle(reply.handle, 'OpenRead'), info: valid(fileInfoSchema, reply.info, 'OpenRead') };
  }

  async read(handle: number, signal: AbortSignal): Promise<Buffer> {
    const reply = await this.call('ReadFile', () =>
      this.grpc.poll(this.grpc.agent.readFile.bind(this.grpc.agent), { handle, len: FILE_CHUNK_BYTES }, 'ReadFile', signal),
    );
    const data: unknown = reply.data;
    if (!(data instanceof Uint8Array) || data.length > FILE_CHUNK_BYTES) throw protocolViolation('ReadFile returned more than it was asked for, or no data');
    return Buffer.from(data);
  }

  async openWrite(containerId: string, path: string, { mode, owner }: FileWriteOptions): Promise<number> {
    const request = { containerId, path, mode: mode ?? 0, hasOwner: owner !== undefined, uid: owner?.uid ?? 0, gid: owner?.gid ?? 0 };
    const reply = await this.call('OpenWrite', () => this.grpc.unary(this.grpc.agent.openWrite.bind(this.grpc.agent), request, 'OpenWrite'));
    return validHandle(reply.handle, 'OpenWrite');
  }

  async write(handle: number, data: Uint8Array): Promise<void> {
    await this.call('WriteFile', () => this.grpc.unary(this.grpc.agent.writeFile.bind(this.grpc.agent), { handle, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) }, 'WriteFile'));
  }

  async commit(handle: number): Promise<SandboxFileCommit> {
    const reply = await this.call('CommitFile', () => this.grpc.unary(this.grpc.agent.commitFile.bind(this.grpc.agent), { handle }, 'CommitFile'));
    return valid(fileCommitSchema, reply, 'CommitFile');
  }

  async close(handle: number): Promise<void> {
    await this.call('CloseFile', () => this.grpc.unary(this.grpc.agent.closeFile.bind(this.grpc.agent), { handle }, 'CloseFile'));
  }

  private async call<T>(name: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      const guestCode = error instanceof RuntimeError ? error.context.guestCode : undefined;
      const code = typeof guestCode === 'string' ? GUEST_FILE_CODES[guestCode] : undefined;
      if (code === undefined) throw error;
      const message = (error as RuntimeError).message.replace(`${name}: `, '');
      throw new RuntimeError(code, message, { cause: error });
    }
  }
}

function valid<T>(schema: z.ZodType<T>, reply: unknown, method: string): T {
  const parsed = schema.safeParse(reply);
  if (!parsed.success) throw protocolViolation(`${method} returned an invalid answer: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
  return parsed.data;
}

function validHandle(handle: unknown, method: string): number {
  if (typeof handle !== 'number' || !Number.isInteger(handle) || handle < 1) throw protocolViolation(`${method} returned no handle`);
  return handle;
}
