import {
  AGENTS_NAMESPACE,
  MAX_FLEET_MESSAGE_BYTES,
  SESSION_OUTPUT_ACK_TIMEOUT_MS,
  type AckReply,
  type AgentToControlPlaneEvents,
  type ControlPlaneToAgentEvents,
  type DesiredState,
  type TenantPeersUpdate,
  type ExecRequest,
  type ExecReplyResult,
  type NodeHello,
  type NodeHeartbeat,
  type SandboxLogsWire,
  type SandboxLogsRequest,
  type SandboxStats,
  type SandboxStatus,
  type SessionExit,
  type SessionOutput,
  desiredStateSchema,
  tenantPeersUpdateSchema,
  execRequestSchema,
  filePathRefSchema,
  fileReadOpenSchema,
  fileTransferRefSchema,
  fileWriteChunkSchema,
  fileWriteOpenSchema,
  sandboxLogsRequestSchema,
  sandboxMigrateInSchema,
  sandboxMigrateOutSchema,
  sandboxPauseSchema,
  sandboxReceiveSchema,
  sandboxRefSchema,
  sandboxSendSchema,
  sessionInputSchema,
  sessionOpenSchema,
  sessionRefSchema,
  sessionResizeSchema,
  sessionSignalSchema,
  type ErrorInfo,
} from '@moat/proto';
import type { Logger } from 'pino';
import { io, type Socket } from 'socket.io-client';
import type { z } from 'zod';
import type { FileTransfers } from '../files/file-transfers';
import { errorInfo } from '../errors/error-info';
import type { SandboxMigrations } from '../move/sandbox-migrations';
import type { SandboxMoves } from '../move/sandbox-moves';
import type { SessionManager } from '../sessions/session.manager';
import { untrustedCertificate } from './tls-failure';

type AgentSocket = Socket<ControlPlaneToAgentEvents, AgentToControlPlaneEvents>;

/** What the connection needs from the rest of the agent. */
export interface FleetHandlers {
  hello(): NodeHello;
  /** What each heartbeat says: the placed sandboxes' ids and the containerd sandboxes. */
  heartbeat(): NodeHeartbeat;
  onDesired(state: DesiredState): void;
  /** A tenant's overlay peers changed elsewhere (see tenantPeersUpdateSchema). */
  onTenantPeers(update: TenantPeersUpdate): void;
  exec(req: ExecRequest): Promise<ExecReplyResult>;
  stats(sandboxId: string): Promise<SandboxStats>;
  setPaused(sandboxId: string, paused: boolean): Promise<void>;
  logs(req: SandboxLogsRequest): Promise<SandboxLogsWire>;
  sessions: SessionManager;
  files: FileTransfers;
  /** Moving hibernated sandboxes between nodes: this node as the target (`receive`) or the source (`send`). */
  moves: Pick<SandboxMoves, 'receive' | 'send'>;
  /** Live migration: this node as the target (`migrateIn`) or the source (`migrateOut`). */
  migrations: Pick<SandboxMigrations, 'migrateIn' | 'migrateOut'>;
}

export interface FleetConnectionOptions {
  url: string;
  token: string;
  nodeId: string;
  heartbeatMs: number;
  /** PEM: the only authority an `https://` control plane's certificate is checked against; absent: the system store. */
  ca?: string;
  /** How long to wait before saying a refused hello again (default 2 s). */
  helloRetryMs?: number;
}

const DEFAULT_HELLO_RETRY_MS = 2_000;

/**
 * The agent's socket.io connection to the control plane (`/agents`, WebSocket only, so no
 * sticky sessions are needed behind a load balancer). Reconnects forever; after each
 * (re)connect it says hello and the control plane answers with the full desired set.
 */
export class FleetConnection {
  private readonly socket: AgentSocket;
  private heartbeat?: NodeJS.Timeout;
  private readonly helloRetryMs: number;

  constructor(
    opts: FleetConnectionOptions,
    private readonly handlers: FleetHandlers,
    private readonly log: Logger,
  ) {
    this.helloRetryMs = opts.helloRetryMs ?? DEFAULT_HELLO_RETRY_MS;
    this.socket = io(new URL(AGENTS_NAMESPACE, opts.url).toString(), {
      transports: ['websocket'],
      auth: { token: opts.token, nodeId: opts.nodeId },
      reconnectionDelayMax: 5_000,
      ...(opts.ca !== undefined && { ca: opts.ca }),
    });
    this.socket.on('connect', () => this.onConnect());
    this.socket.on('disconnect', (reason) => this.log.warn({ reason }, 'disconnected from control plane'));
    this.socket.on('connect_error', (err) => this.onConnectError(err));
    this.socket.on('sandboxes:desired', (payload) => {
      const parsed = desiredStateSchema.safeParse(payload);
      if (!parsed.success) return this.log.error({ issues: parsed.error.issues }, 'invalid desired state ignored');
      this.handlers.onDesired(parsed.data);
    });
    this.socket.on('tenant:peers', (payload) => {
      const parsed = tenantPeersUpdateSchema.safeParse(payload);
      if (!parsed.success) return this.log.error({ issues: parsed.error.issues }, 'invalid tenant peers ignored');
      this.handlers.onTenantPeers(parsed.data);
    });
    this.socket.on('sandbox:exec', (payload, ack) => answer(ack, execRequestSchema, payload, (req) => this.handlers.exec(req)));
    this.socket.on('sandbox:stats', (payload, ack) =>
      answer(ack, sandboxRefSchema, payload, ({ sandboxId }) => this.handlers.stats(sandboxId)),
    );
    this.socket.on('sandbox:pause', (payload, ack) =>
      answer(ack, sandboxPauseSchema, payload, async ({ sandboxId, paused }) => {
        await this.handlers.setPaused(sandboxId, paused);
        return null;
      }),
    );
    this.socket.on('sandbox:logs', (payload, ack) => answer(ack, sandboxLogsRequestSchema, payload, (req) => this.handlers.logs(req)));
    this.socket.on('sandbox:receive', (payload, ack) => answer(ack, sandboxReceiveSchema, payload, (req) => this.handlers.moves.receive(req)));
    this.socket.on('sandbox:send', (payload, ack) => answer(ack, sandboxSendSchema, payload, (req) => this.handlers.moves.send(req)));
    this.socket.on('sandbox:migrate-in', (payload, ack) => answer(ack, sandboxMigrateInSchema, payload, (req) => this.handlers.migrations.migrateIn(req)));
    this.socket.on('sandbox:migrate-out', (payload, ack) => answer(ack, sandboxMigrateOutSchema, payload, (req) => this.handlers.migrations.migrateOut(req)));
    this.listenForSessions();
    this.listenForFiles();
    this.heartbeat = setInterval(() => {
      if (this.socket.connected) this.socket.emit('node:heartbeat', this.handlers.heartbeat());
    }, opts.heartbeatMs);
  }

  /** Session output, acknowledged by the client at the other end; rejects when the connection drops. */
  async sessionOutput(output: SessionOutput): Promise<void> {
    const taken: unknown = await this.socket.timeout(SESSION_OUTPUT_ACK_TIMEOUT_MS).emitWithAck('session:output', output);
    if (taken !== true) throw new Error(`session ${output.sessionId}: the client is gone`);
  }

  sessionExit(exit: SessionExit): void {
    this.socket.emit('session:exit', exit);
  }

  sessionError(sessionId: string, error: ErrorInfo): void {
    this.socket.emit('session:error', { sessionId, error });
  }

  /** Sends a sandbox's observed state; dropped while disconnected (the next hello resyncs). */
  report(status: SandboxStatus): void {
    if (this.socket.connected) this.socket.emit('sandbox:status', status);
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.socket.close();
  }

  private listenForSessions(): void {
    const sessions = this.handlers.sessions;
    this.socket.on('session:open', (payload, ack) =>
      answer(ack, sessionOpenSchema, payload, async (req) => {
        await sessions.open(req);
        return null;
      }),
    );
    this.socket.on('session:input', (payload, ack) =>
      answer(ack, sessionInputSchema, payload, async ({ sessionId, data }) => {
        await sessions.input(sessionId, typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data));
        return null;
      }),
    );
    this.socket.on('session:eof', (payload) => {
      const parsed = sessionRefSchema.safeParse(payload);
      if (parsed.success) sessions.eof(parsed.data.sessionId);
    });
    this.socket.on('session:resize', (payload) => {
      const parsed = sessionResizeSchema.safeParse(payload);
      if (parsed.success) sessions.resize(parsed.data.sessionId, parsed.data.window);
    });
    this.socket.on('session:signal', (payload) => {
      const parsed = sessionSignalSchema.safeParse(payload);
      if (parsed.success) sessions.signal(parsed.data.sessionId, parsed.data.signal);
    });
    this.socket.on('session:close', (payload) => {
      const parsed = sessionRefSchema.safeParse(payload);
      if (parsed.success) sessions.close(parsed.data.sessionId);
    });
    // Without the control plane nobody reads the output; the processes are killed.
    this.socket.on('disconnect', () => sessions.closeAll());
  }

  private listenForFiles(): void {
    const files = this.handlers.files;
    this.socket.on('file:stat', (payload, ack) => answer(ack, filePathRefSchema, payload, (req) => files.stat(req)));
    this.socket.on('file:list', (payload, ack) => answer(ack, filePathRefSchema, payload, (req) => files.list(req)));
    this.socket.on('file:open-read', (payload, ack) => answer(ack, fileReadOpenSchema, payload, (req) => files.openRead(req)));
    this.socket.on('file:read', (payload, ack) => answer(ack, fileTransferRefSchema, payload, ({ transferId }) => files.read(transferId)));
    this.socket.on('file:open-write', (payload, ack) =>
      answer(ack, fileWriteOpenSchema, payload, async (req) => {
        await files.openWrite(req);
        return null;
      }),
    );
    this.socket.on('file:write', (payload, ack) =>
      answer(ack, fileWriteChunkSchema, payload, async (req) => {
        await files.write(req);
        return null;
      }),
    );
    this.socket.on('file:commit', (payload, ack) => answer(ack, fileTransferRefSchema, payload, ({ transferId }) => files.commit(transferId)));
    this.socket.on('file:close', (payload) => {
      const parsed = fileTransferRefSchema.safeParse(payload);
      if (parsed.success) files.close(parsed.data.transferId);
    });
    // Without the control plane nobody finishes them.
    this.socket.on('disconnect', () => files.closeAll());
  }

  /**
   * An untrusted certificate is an error the operator must fix (the credential is never sent
   * to it; the agent keeps trying, as the certificate may yet be replaced); anything else is
   * the control plane being away, which reconnecting handles.
   */
  private onConnectError(err: Error): void {
    const untrusted = untrustedCertificate(err);
    if (untrusted) return this.log.error(`not connecting: ${untrusted}; the node's credential was not sent`);
    const cause = (err as { description?: { error?: Error } }).description?.error?.message;
    this.log.warn({ err: err.message, ...(cause !== undefined && { cause }) }, 'cannot reach control plane');
  }

  private onConnect(): void {
    this.log.info('connected to control plane');
    this.sayHello();
  }

  /**
   * Until the control plane registered the hello it drops the node's reports, so a refused
   * hello (e.g. its database failed) is said again while the connection lasts.
   */
  private sayHello(): void {
    const connection = this.socket.id;
    this.socket.emit('node:hello', this.handlers.hello(), (reply) => {
      if (reply.ok) return;
      this.log.error({ error: reply.error }, `control plane refused hello; saying it again in ${this.helloRetryMs} ms`);
      const retry = setTimeout(() => {
        // A new connection says hello by itself.
        if (this.socket.connected && this.socket.id === connection) this.sayHello();
      }, this.helloRetryMs);
      retry.unref();
    });
  }
}

/**
 * Answers an acknowledged request from the control plane: an invalid payload or a failure
 * becomes an `{ ok: false }` reply. Requests sent without an acknowledgement are ignored.
 */
function answer<Req, Res>(
  ack: ((reply: AckReply<Res>) => void) | undefined,
  schema: z.ZodType<Req>,
  payload: unknown,
  run: (req: Req) => Promise<Res>,
): void {
  if (typeof ack !== 'function') return;
  const parsed = schema.safeParse(payload);
  if (!parsed.success) return ack({ ok: false, error: { code: 'INVALID_REQUEST', message: parsed.error.message } });
  run(parsed.data).then(
    (result) => ack(fitting({ ok: true, result })),
    (err: unknown) => ack({ ok: false, error: errorInfo(err) }),
  );
}

/**
 * About what the reply weighs on the wire: its JSON, and the bytes of each binary part, which
 * socket.io sends as they are (a chunk of a file is not turned into a JSON array to be measured).
 */
export function encodedBytes(reply: unknown): number {
  let binary = 0;
  const json = JSON.stringify(reply, function (this: Record<string, unknown>, key: string, value: unknown) {
    // `this[key]` is the value before its toJSON (a Buffer's would be an array of numbers).
    const original = this[key];
    if (!(original instanceof Uint8Array)) return value;
    binary += original.byteLength;
    return 0;
  });
  return Buffer.byteLength(json) + binary;
}

/** Room left in a message for socket.io's own framing (event, ack id). */
const FRAMING_BYTES = 64 * 1024;

/**
 * The reply, or a refusal when it would not fit in one message the control plane takes: sent
 * anyway, it would close this node's connection and fail every request in flight on it.
 */
export function fitting<Res>(reply: AckReply<Res>): AckReply<Res> {
  const bytes = encodedBytes(reply);
  if (bytes <= MAX_FLEET_MESSAGE_BYTES - FRAMING_BYTES) return reply;
  const limit = MAX_FLEET_MESSAGE_BYTES - FRAMING_BYTES;
  return {
    ok: false,
    error: {
      code: 'REPLY_TOO_LARGE',
      message: `the answer is ${bytes} bytes encoded, more than the ${limit} one answer may carry; for large output use an attach session or write it to a file`,
    },
  };
}
