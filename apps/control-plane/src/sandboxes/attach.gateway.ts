import { OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import {
  ATTACH_NAMESPACE,
  MAX_SIGNAL,
  attachStartSchema,
  windowSizeSchema,
  type AckReply,
  type AttachStart,
  type AttachClientEvents,
  type AttachServerEvents,
  type ErrorInfo,
} from '@moat/proto';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'socket.io';
import { z } from 'zod';
import { AuthService } from '../auth/auth.service';
import { ApiError } from '../common/api.error';
import { shapeProblem } from '../common/request-shape.middleware';
import { SOCKET_SERVER_OPTIONS } from '../common/socket-server.options';
import { ENV_MAP, stringMapProblem } from '../common/string-map.validator';
import { argvProblem, isAbsolutePath } from '../common/text.validator';
import { AgentChannel } from '../fleet/agent.channel';
import { AttachChannel, sessionRoom, type AttachNamespace, type AttachSocketData } from '../fleet/attach.channel';
import { SandboxesService } from './sandboxes.service';

type AttachSocket = Socket<AttachClientEvents, AttachServerEvents, Record<string, never>, AttachSocketData>;

const inputSchema = z.union([z.custom<Uint8Array>((value) => value instanceof Uint8Array), z.string()]);
const signalSchema = z.number().int().min(1).max(MAX_SIGNAL);

/**
 * Interactive sessions (`/attach`, `auth: {token}`): one process per connection, typically a
 * shell on a TTY. Relayed to the sandbox's node agent, which relays to the guest agent.
 * Disconnecting kills the process.
 */
@WebSocketGateway({ namespace: ATTACH_NAMESPACE, ...SOCKET_SERVER_OPTIONS })
export class AttachGateway implements OnGatewayInit<AttachNamespace>, OnGatewayConnection<Socket>, OnGatewayDisconnect<Socket> {
  constructor(
    private readonly auth: AuthService,
    private readonly sandboxes: SandboxesService,
    private readonly agents: AgentChannel,
    private readonly channel: AttachChannel,
  ) {}

  afterInit(namespace: AttachNamespace): void {
    this.channel.attach(namespace);
    namespace.use(this.auth.socketMiddleware('attach'));
  }

  handleConnection(client: Socket): void {
    const socket = client as unknown as AttachSocket;
    socket.on('attach:start', (payload, ack) => {
      if (typeof ack !== 'function') return;
      void this.start(socket, payload).then(ack);
    });
    socket.on('attach:input', (payload, ack) => {
      if (typeof ack !== 'function') return;
      const session = socket.data.session;
      const data = inputSchema.safeParse(payload);
      if (!session || !data.success) return ack(invalid(session ? 'input must be bytes or a string' : 'no session started'));
      this.agents.sessionInput(session.nodeId, session.sessionId, data.data).then(
        () => ack({ ok: true, result: null }),
        (err: unknown) => ack({ ok: false, error: errorInfo(err) }),
      );
    });
    socket.on('attach:eof', () => this.control(socket, 'session:eof'));
    socket.on('attach:resize', (payload) => {
      const window = windowSizeSchema.safeParse(payload);
      if (window.success) this.control(socket, 'session:resize', { window: window.data });
    });
    socket.on('attach:signal', (payload) => {
      const signal = signalSchema.safeParse(payload);
      if (signal.success) this.control(socket, 'session:signal', { signal: signal.data });
    });
  }

  handleDisconnect(client: Socket): void {
    this.control(client as unknown as AttachSocket, 'session:close');
  }

  private async start(socket: AttachSocket, payload: unknown): Promise<AckReply<{ sessionId: string }>> {
    if (socket.data.session) return invalid('this connection already has a session');
    // The same refusals as REST bodies: zod would drop a `__proto__` key silently.
    const shape = shapeProblem(payload, 'attach:start payload');
    if (shape !== undefined) return invalid(shape);
    const request = attachStartSchema.safeParse(payload);
    if (!request.success) return invalid(request.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    const refused = unrunnable(request.data);
    if (refused !== undefined) return invalid(refused);
    try {
      const nodeId = await this.sandboxes.awakeNode(socket.data.principal, request.data.sandboxId);
      const sessionId = randomUUID();
      // Joined before the process starts, so not even its first output is missed.
      await socket.join(sessionRoom(sessionId));
      socket.data.session = { sessionId, nodeId };
      await this.agents.openSession(nodeId, { ...request.data, sessionId });
      return { ok: true, result: { sessionId } };
    } catch (err) {
      socket.data.session = undefined;
      return { ok: false, error: errorInfo(err) };
    }
  }

  private control(socket: AttachSocket, event: Parameters<AgentChannel['sessionControl']>[1], extra: { window?: { rows: number; cols: number }; signal?: number } = {}): void {
    const session = socket.data.session;
    if (session) this.agents.sessionControl(session.nodeId, event, { sessionId: session.sessionId, ...extra });
  }
}

/** What the protocol's schema lets through but the guest could never run, as REST exec refuses it. */
function unrunnable({ command, cwd, env }: AttachStart): string | undefined {
  const argv = command && argvProblem(command);
  if (argv) return `command: ${argv}`;
  const environment = env && stringMapProblem(env, ENV_MAP);
  if (environment) return `env: ${environment}`;
  if (cwd !== undefined && !isAbsolutePath(cwd)) return 'cwd: must be an absolute path, starting with "/" and without NUL characters';
  return undefined;
}

function invalid(message: string): { ok: false; error: ErrorInfo } {
  return { ok: false, error: { code: 'VALIDATION_FAILED', message } };
}

function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof ApiError) return { code: err.code, message: err.message };
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}
