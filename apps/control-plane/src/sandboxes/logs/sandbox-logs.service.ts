import { Injectable } from '@nestjs/common';
import { MAX_LOGS_WAIT_MS, type SandboxLogsPage } from '@moat/proto';
import type { Principal } from '../../auth/principal';
import { ApiError, ErrorCode } from '../../common/api.error';
import { AgentChannel } from '../../fleet/agent.channel';
import { NodesService } from '../../nodes/nodes.service';
import { SandboxLookup } from '../sandbox-lookup';

/** Which part of the logs to give: after a cursor (`Last-Event-ID`), since a time, the last lines. */
export interface LogWindow {
  after?: number;
  sinceMs?: number;
  tail?: number;
  /** Go on until the process's output ends (or `signal` aborts), waiting for more. */
  follow: boolean;
}

/**
 * Reads a sandbox's main-process output from the node that holds it, page by page: pulled (not
 * pushed), so whichever control-plane replica a client reaches can serve it.
 */
@Injectable()
export class SandboxLogsService {
  constructor(
    private readonly lookup: SandboxLookup,
    private readonly nodes: NodesService,
    private readonly agents: AgentChannel,
  ) {}

  /**
   * The node holding the sandbox's logs: the one it is placed on, whatever its state there (a
   * failed sandbox's node keeps them until it is deleted). NOT_FOUND, SANDBOX_NOT_RUNNING when
   * it was never placed, NODE_UNAVAILABLE when its node is away.
   */
  async nodeOf(principal: Principal, id: string): Promise<string> {
    const sandbox = await this.lookup.get(principal, id);
    if (!sandbox.nodeId) throw new ApiError(ErrorCode.SANDBOX_NOT_RUNNING, `sandbox ${id} is ${sandbox.state} and on no node yet: it has no logs`);
    if (sandbox.state === 'unknown' || !(await this.nodes.isUp(sandbox.nodeId))) {
      throw new ApiError(ErrorCode.NODE_UNAVAILABLE, `the node of sandbox ${id} is not connected`);
    }
    return sandbox.nodeId;
  }

  /**
   * The pages of the window, in order. Without `follow` they end once the reader has caught up;
   * with it, each request waits on the node for more, until the output ends or `signal` aborts
   * (then at once, not after the request in flight). A node's refusal is thrown as an ApiError.
   */
  async *pages(nodeId: string, sandboxId: string, window: LogWindow, signal: AbortSignal): AsyncGenerator<SandboxLogsPage> {
    let request = { sandboxId, after: window.after, sinceMs: window.sinceMs, tail: window.tail };
    while (!signal.aborted) {
      const page = await untilAborted(this.agents.logs(nodeId, { ...request, ...(window.follow && { waitMs: MAX_LOGS_WAIT_MS }) }), signal);
      if (!page) return;
      yield page;
      if (page.ended || (!window.follow && page.entries.length === 0)) return;
      // The filters chose where to begin; from here on, everything after the cursor.
      request = { sandboxId, after: page.cursor, sinceMs: undefined, tail: undefined };
    }
  }
}

/** `promise`'s value, or undefined as soon as `signal` aborts (what it settles to then is ignored). */
async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return undefined;
  let onAbort = (): void => undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
    // The request in flight ends on the node within its wait; its answer, or failure, goes nowhere.
    promise.catch(() => undefined);
  }
}
