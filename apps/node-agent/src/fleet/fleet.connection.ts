import {
  AGENTS_NAMESPACE,
  type AckReply,
  type AgentToControlPlaneEvents,
  type ControlPlaneToAgentEvents,
  type ExecRequest,
  type ExecResult,
  type NodeHello,
  type SandboxStatus,
  desiredStateSchema,
  execRequestSchema,
} from '@moat/proto';
import type { Logger } from 'pino';
import { io, type Socket } from 'socket.io-client';

type AgentSocket = Socket<ControlPlaneToAgentEvents, AgentToControlPlaneEvents>;

/** What the connection needs from the rest of the agent. */
export interface FleetHandlers {
  hello(): NodeHello;
  sandboxIds(): string[];
  onDesired(sandboxes: Parameters<ControlPlaneToAgentEvents['sandboxes:desired']>[0]['sandboxes']): void;
  exec(req: ExecRequest): Promise<ExecResult>;
}

export interface FleetConnectionOptions {
  url: string;
  token: string;
  nodeId: string;
  heartbeatMs: number;
}

/**
 * The agent's socket.io connection to the control plane (`/agents`, WebSocket only, so no
 * sticky sessions are needed behind a load balancer). Reconnects forever; after each
 * (re)connect it says hello and the control plane answers with the full desired set.
 */
export class FleetConnection {
  private readonly socket: AgentSocket;
  private heartbeat?: NodeJS.Timeout;

  constructor(
    opts: FleetConnectionOptions,
    private readonly handlers: FleetHandlers,
    private readonly log: Logger,
  ) {
    this.socket = io(new URL(AGENTS_NAMESPACE, opts.url).toString(), {
      transports: ['websocket'],
      auth: { token: opts.token, nodeId: opts.nodeId },
      reconnectionDelayMax: 5_000,
    });
    this.socket.on('connect', () => this.onConnect());
    this.socket.on('disconnect', (reason) => this.log.warn({ reason }, 'disconnected from control plane'));
    this.socket.on('connect_error', (err) => this.log.warn({ err: err.message }, 'cannot reach control plane'));
    this.socket.on('sandboxes:desired', (payload) => {
      const parsed = desiredStateSchema.safeParse(payload);
      if (!parsed.success) return this.log.error({ issues: parsed.error.issues }, 'invalid desired state ignored');
      this.handlers.onDesired(parsed.data.sandboxes);
    });
    this.socket.on('sandbox:exec', (payload, ack) => {
      if (typeof ack !== 'function') return;
      void this.relayExec(payload, ack);
    });
    this.heartbeat = setInterval(() => {
      if (this.socket.connected) this.socket.emit('node:heartbeat', { sandboxIds: this.handlers.sandboxIds() });
    }, opts.heartbeatMs);
  }

  /** Sends a sandbox's observed state; dropped while disconnected (the next hello resyncs). */
  report(status: SandboxStatus): void {
    if (this.socket.connected) this.socket.emit('sandbox:status', status);
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.socket.close();
  }

  private onConnect(): void {
    this.log.info('connected to control plane');
    this.socket.emit('node:hello', this.handlers.hello(), (reply) => {
      if (!reply.ok) this.log.error({ error: reply.error }, 'control plane refused hello');
    });
  }

  private async relayExec(payload: unknown, ack: (reply: AckReply<ExecResult>) => void): Promise<void> {
    const parsed = execRequestSchema.safeParse(payload);
    if (!parsed.success) {
      return ack({ ok: false, error: { code: 'INVALID_REQUEST', message: parsed.error.message } });
    }
    try {
      ack({ ok: true, result: await this.handlers.exec(parsed.data) });
    } catch (err) {
      ack({ ok: false, error: errorInfo(err) });
    }
  }
}

function errorInfo(err: unknown): { code: string; message: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : 'EXEC_FAILED', message: err.message };
  }
  return { code: 'EXEC_FAILED', message: String(err) };
}
