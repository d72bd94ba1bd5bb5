import { Injectable, Logger } from '@nestjs/common';
import {
  MOVE_TRANSFER_TIMEOUT_MS,
  NODE_REQUEST_TIMEOUT_MS,
  SESSION_REQUEST_TIMEOUT_MS,
  ackReplySchema,
  execReplyResultSchema,
  fileChunkSchema,
  fileCommitSchema,
  fileInfoSchema,
  fileListSchema,
  type FileChunk,
  type FilePathRef,
  type FileReadOpen,
  type FileWriteOpen,
  type SandboxFileCommit,
  type SandboxFileInfo,
  type SandboxFileList,
  sandboxLogsWireSchema,
  unpackLogsPage,
  sandboxStatsSchema,
  sandboxReceiveReplySchema,
  sandboxSendReplySchema,
  sandboxMigrateOutReplySchema,
  type AckReply,
  type AgentToControlPlaneEvents,
  type ControlPlaneToAgentEvents,
  type DesiredState,
  type TenantPeersUpdate,
  type ExecRequest,
  type ExecReplyResult,
  type SandboxLogsPage,
  type SandboxLogsRequest,
  type SandboxMigrateIn,
  type SandboxMigrateOut,
  type SandboxMigrateOutReply,
  type SandboxReceive,
  type SandboxReceiveReply,
  type SandboxSend,
  type SandboxSendReply,
  type SandboxStats,
  type SessionOpen,
} from '@moat/proto';
import type { Namespace } from 'socket.io';
import { z } from 'zod';
import { ErrorCode, ApiError } from '../common/api.error';
import { chunks } from '../common/chunks';
import { PacedQueue } from '../common/paced-queue';

export interface AgentSocketData {
  nodeId: string;
  /** Set once the node said hello; events before that are ignored. */
  registered: boolean;
}

export type AgentNamespace = Namespace<
  AgentToControlPlaneEvents,
  ControlPlaneToAgentEvents,
  Record<string, never>,
  AgentSocketData
>;

/** How many nodes one broadcast of a message reaches: writing to each socket is what costs. */
const ROOMS_PER_EMIT = 100;

/** Every socket of a node joins its room, so replicas reach it through the adapter. */
export const nodeRoom = (nodeId: string): string => `node:${nodeId}`;

const execReplySchema = ackReplySchema(execReplyResultSchema);
const statsReplySchema = ackReplySchema(sandboxStatsSchema);
const emptyReplySchema = ackReplySchema(z.null());
const fileInfoReplySchema = ackReplySchema(fileInfoSchema);
const fileListReplySchema = ackReplySchema(fileListSchema);
const fileChunkReplySchema = ackReplySchema(fileChunkSchema);
const fileCommitReplySchema = ackReplySchema(fileCommitSchema);
const logsReplySchema = ackReplySchema(sandboxLogsWireSchema);
const receiveReplySchema = ackReplySchema(sandboxReceiveReplySchema);
const sendReplySchema = ackReplySchema(sandboxSendReplySchema);
const migrateOutReplySchema = ackReplySchema(sandboxMigrateOutReplySchema);

/** Sends to node agents: desired state and exec requests. */
@Injectable()
export class AgentChannel {
  private readonly logger = new Logger(AgentChannel.name);
  private namespace?: AgentNamespace;
  /**
   * Desired sets and peer updates, sent in order (a node must never get an older set after a
   * newer one) and paced, since a placement pass or a tenant's peers reach thousands of nodes.
   */
  private readonly outbox = new PacedQueue((err) => this.logger.error({ err }, 'sending to node agents failed'));

  attach(namespace: AgentNamespace): void {
    this.namespace = namespace;
  }

  /** Sends a node its desired set; resolves once it went out. */
  pushDesired(nodeId: string, state: DesiredState): Promise<void> {
    return this.outbox.push(() => this.namespace?.to(nodeRoom(nodeId)).emit('sandboxes:desired', state));
  }

  /**
   * Tells these nodes a tenant's new peers: one message, encoded once for each slice of them.
   * Queued behind the desired sets before it; nothing waits for it to go out.
   */
  pushTenantPeers(nodeIds: readonly string[], update: TenantPeersUpdate): void {
    for (const slice of chunks(nodeIds, ROOMS_PER_EMIT)) {
      void this.outbox.push(() => this.namespace?.to(slice.map(nodeRoom)).emit('tenant:peers', update));
    }
  }

  /** Runs a command through the node's agent and waits at most `timeoutMs` for its reply. */
  exec(nodeId: string, request: ExecRequest, timeoutMs: number): Promise<ExecReplyResult> {
    return this.request(nodeId, 'exec', timeoutMs, execReplySchema, (room) => room.emitWithAck('sandbox:exec', request));
  }

  /** The sandbox's container stats, read by its node from the guest. */
  stats(nodeId: string, sandboxId: string): Promise<SandboxStats> {
    return this.request(nodeId, 'stats', NODE_REQUEST_TIMEOUT_MS, statsReplySchema, (room) => room.emitWithAck('sandbox:stats', { sandboxId }));
  }

  /** Freezes or thaws the sandbox's container on its node. */
  async setPaused(nodeId: string, sandboxId: string, paused: boolean): Promise<void> {
    await this.request(nodeId, 'pause', NODE_REQUEST_TIMEOUT_MS, emptyReplySchema, (room) => room.emitWithAck('sandbox:pause', { sandboxId, paused }));
  }

  /** To a move's target: opens a port for the hibernated sandbox's saved state; answers where the source is to connect. */
  receive(nodeId: string, request: SandboxReceive): Promise<SandboxReceiveReply> {
    return this.request(nodeId, 'receive', NODE_REQUEST_TIMEOUT_MS, receiveReplySchema, (room) => room.emitWithAck('sandbox:receive', request));
  }

  /** To a move's source: sends the hibernated sandbox's saved state to the target; answered once the target took it in. */
  send(nodeId: string, request: SandboxSend): Promise<SandboxSendReply> {
    return this.request(nodeId, 'send', MOVE_TRANSFER_TIMEOUT_MS, sendReplySchema, (room) => room.emitWithAck('sandbox:send', request));
  }

  /**
   * To a live migration's target: opens a port for the running sandbox's VM (which it runs once
   * it arrived, with `address`); answers where the source is to connect.
   */
  migrateIn(nodeId: string, request: SandboxMigrateIn): Promise<SandboxReceiveReply> {
    return this.request(nodeId, 'migrate-in', NODE_REQUEST_TIMEOUT_MS, receiveReplySchema, (room) => room.emitWithAck('sandbox:migrate-in', request));
  }

  /** To a live migration's source: sends the running sandbox's VM to the target; answered once the target runs it. */
  migrateOut(nodeId: string, request: SandboxMigrateOut): Promise<SandboxMigrateOutReply> {
    return this.request(nodeId, 'migrate-out', MOVE_TRANSFER_TIMEOUT_MS, migrateOutReplySchema, (room) => room.emitWithAck('sandbox:migrate-out', request));
  }

  /** A page of the sandbox's main-process output, held by its node (long-polled when `waitMs` is set). */
  async logs(nodeId: string, request: SandboxLogsRequest): Promise<SandboxLogsPage> {
    return unpackLogsPage(await this.request(nodeId, 'logs', NODE_REQUEST_TIMEOUT_MS, logsReplySchema, (room) => room.emitWithAck('sandbox:logs', request)));
  }

  /** Starts an interactive process on the node; its output comes back as `session:output` events. */
  async openSession(nodeId: string, request: SessionOpen): Promise<void> {
    await this.request(nodeId, 'session', SESSION_REQUEST_TIMEOUT_MS, emptyReplySchema, (room) => room.emitWithAck('session:open', request));
  }

  /** Hands input to the session's process; resolves once the guest took it (back-pressure). */
  async sessionInput(nodeId: string, sessionId: string, data: Uint8Array | string): Promise<void> {
    await this.request(nodeId, 'session', SESSION_REQUEST_TIMEOUT_MS, emptyReplySchema, (room) =>
      room.emitWithAck('session:input', { sessionId, data }),
    );
  }

  /** Fire-and-forget session controls. */
  sessionControl(
    nodeId: string,
    event: 'session:eof' | 'session:close' | 'session:resize' | 'session:signal',
    payload: { sessionId: string; window?: { rows: number; cols: number }; signal?: number },
  ): void {
    const room = this.namespace?.to(nodeRoom(nodeId));
    switch (event) {
      case 'session:resize':
        if (payload.window) room?.emit(event, { sessionId: payload.sessionId, window: payload.window });
        break;
      case 'session:signal':
        if (payload.signal !== undefined) room?.emit(event, { sessionId: payload.sessionId, signal: payload.signal });
        break;
      case 'session:eof':
      case 'session:close':
        room?.emit(event, { sessionId: payload.sessionId });
        break;
    }
  }

  fileStat(nodeId: string, ref: FilePathRef): Promise<SandboxFileInfo> {
    return this.request(nodeId, 'file', NODE_REQUEST_TIMEOUT_MS, fileInfoReplySchema, (room) => room.emitWithAck('file:stat', ref));
  }

  fileList(nodeId: string, ref: FilePathRef): Promise<SandboxFileList> {
    return this.request(nodeId, 'file', NODE_REQUEST_TIMEOUT_MS, fileListReplySchema, (room) => room.emitWithAck('file:list', ref));
  }

  /** Opens a file (or a directory's tar) on the node for `fileRead`; answers what it is. */
  fileOpenRead(nodeId: string, open: FileReadOpen): Promise<SandboxFileInfo> {
    return this.request(nodeId, 'file', NODE_REQUEST_TIMEOUT_MS, fileInfoReplySchema, (room) => room.emitWithAck('file:open-read', open));
  }

  fileRead(nodeId: string, transferId: string): Promise<FileChunk> {
    return this.request(nodeId, 'file', NODE_REQUEST_TIMEOUT_MS, fileChunkReplySchema, (room) => room.emitWithAck('file:read', { transferId }));
  }

  async fileOpenWrite(nodeId: string, open: FileWriteOpen): Promise<void> {
    await this.request(nodeId, 'file', NODE_REQUEST_TIMEOUT_MS, emptyReplySchema, (room) => room.emitWithAck('file:open-write', open));
  }

  async fileWrite(nodeId: string, transferId: string, data: Uint8Array): Promise<void> {
    await this.request(nodeId, 'file', NODE_REQUEST_TIMEOUT_MS, emptyReplySchema, (room) => room.emitWithAck('file:write', { transferId, data }));
  }

  fileCommit(nodeId: string, transferId: string): Promise<SandboxFileCommit> {
    return this.request(nodeId, 'file', NODE_REQUEST_TIMEOUT_MS, fileCommitReplySchema, (room) => room.emitWithAck('file:commit', { transferId }));
  }

  /** Ends a read or abandons a write on the node (fire and forget: the node also closes idle ones). */
  fileClose(nodeId: string, transferId: string): void {
    this.namespace?.to(nodeRoom(nodeId)).emit('file:close', { transferId });
  }

  /** One acknowledged request to a node, with its reply validated. */
  private async request<T>(
    nodeId: string,
    what: string,
    timeoutMs: number,
    schema: z.ZodType<AckReply<T>>,
    send: (room: ReturnType<ReturnType<AgentNamespace['to']>['timeout']>) => Promise<unknown[]>,
  ): Promise<T> {
    if (!this.namespace) throw new ApiError(ErrorCode.NODE_UNAVAILABLE, `node ${nodeId} is not connected`);
    let replies: unknown[];
    try {
      replies = await send(this.namespace.to(nodeRoom(nodeId)).timeout(timeoutMs));
    } catch (cause) {
      throw new ApiError(ErrorCode.EXEC_TIMEOUT, `node ${nodeId} did not answer within ${timeoutMs} ms`, { cause });
    }
    // A broadcast to an empty room settles at once with no replies.
    if (replies.length === 0) throw new ApiError(ErrorCode.NODE_UNAVAILABLE, `node ${nodeId} is not connected`);
    const reply = schema.safeParse(replies[0]);
    if (!reply.success) throw new ApiError(ErrorCode.EXEC_FAILED, `node ${nodeId} sent an invalid ${what} reply`);
    if (!reply.data.ok) throw nodeError(reply.data.error);
    return reply.data.result;
  }
}

/**
 * A node's refusal as the API reports it, keeping its meaning: what the node knows that the
 * control plane had not heard yet (the sandbox stopped, is gone) is a conflict, a request the
 * node finds malformed is the caller's; anything else is the node failing (502), with its code.
 */
export function nodeError(error: { code: string; message: string }): ApiError {
  const message = `${error.code}: ${error.message}`;
  switch (error.code) {
    case 'SANDBOX_NOT_RUNNING':
    case 'SANDBOX_NOT_FOUND':
      return new ApiError(ErrorCode.SANDBOX_NOT_RUNNING, message, { context: { nodeCode: error.code } });
    case 'INVALID_SPEC':
      return new ApiError(ErrorCode.VALIDATION_FAILED, message, { context: { nodeCode: error.code } });
    case 'FILE_NOT_FOUND':
    case 'FILE_PATH_INVALID':
    case 'FILE_NO_SPACE':
    case 'FILE_NOT_WRITABLE':
      // The guest's own words say it best ("no such file or directory: /x").
      return new ApiError(ErrorCode[error.code], error.message, { context: { nodeCode: error.code } });
    case 'FILE_TRANSFERS_EXHAUSTED':
      return new ApiError(ErrorCode.TOO_MANY_TRANSFERS, error.message, { context: { nodeCode: error.code } });
    default:
      return new ApiError(ErrorCode.EXEC_FAILED, message, { context: { nodeCode: error.code } });
  }
}
