import { Injectable } from '@nestjs/common';
import {
  errorInfoSchema,
  execResultSchema,
  type AgentToControlPlaneEvents,
  type ControlPlaneToAgentEvents,
  type DesiredState,
  type ExecRequest,
  type ExecResult,
} from '@moat/proto';
import type { Namespace } from 'socket.io';
import { z } from 'zod';
import { ErrorCode, ApiError } from '../common/api.error';

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

/** Every socket of a node joins its room, so replicas reach it through the adapter. */
export const nodeRoom = (nodeId: string): string => `node:${nodeId}`;

const execReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: execResultSchema }),
  z.object({ ok: z.literal(false), error: errorInfoSchema }),
]);

/** Sends to node agents: desired state and exec requests. */
@Injectable()
export class AgentChannel {
  private namespace?: AgentNamespace;

  attach(namespace: AgentNamespace): void {
    this.namespace = namespace;
  }

  pushDesired(nodeId: string, state: DesiredState): void {
    this.namespace?.to(nodeRoom(nodeId)).emit('sandboxes:desired', state);
  }

  /** Runs a command through the node's agent and waits at most `timeoutMs` for its reply. */
  async exec(nodeId: string, request: ExecRequest, timeoutMs: number): Promise<ExecResult> {
    if (!this.namespace) throw new ApiError(ErrorCode.NODE_UNAVAILABLE, `node ${nodeId} is not connected`);
    let replies: unknown[];
    try {
      replies = await this.namespace.to(nodeRoom(nodeId)).timeout(timeoutMs).emitWithAck('sandbox:exec', request);
    } catch (cause) {
      throw new ApiError(ErrorCode.EXEC_TIMEOUT, `node ${nodeId} did not answer within ${timeoutMs} ms`, { cause });
    }
    // A broadcast to an empty room settles at once with no replies.
    if (replies.length === 0) throw new ApiError(ErrorCode.NODE_UNAVAILABLE, `node ${nodeId} is not connected`);
    const reply = execReplySchema.safeParse(replies[0]);
    if (!reply.success) throw new ApiError(ErrorCode.EXEC_FAILED, `node ${nodeId} sent an invalid exec reply`);
    if (!reply.data.ok) {
      throw new ApiError(ErrorCode.EXEC_FAILED, `${reply.data.error.code}: ${reply.data.error.message}`);
    }
    return reply.data.result;
  }
}
