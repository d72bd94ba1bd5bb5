import { Logger, OnModuleDestroy } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import {
  AGENTS_NAMESPACE,
  nodeHeartbeatSchema,
  nodeHelloSchema,
  sandboxStatusSchema,
  sessionErrorSchema,
  sessionExitSchema,
  sessionOutputSchema,
  type AckReply,
  type AgentToControlPlaneEvents,
  type ControlPlaneToAgentEvents,
} from '@moat/proto';
import type { Socket } from 'socket.io';
import type { z } from 'zod';
import { SerialQueue } from '../common/serial-queue';
import { SOCKET_SERVER_OPTIONS } from '../common/socket-server.options';
import { NodesService } from '../nodes/nodes.service';
import { SandboxesService } from '../sandboxes/sandboxes.service';
import { AgentAuthenticator } from './agent-auth.service';
import { AgentChannel, AgentNamespace, AgentSocketData, nodeRoom } from './agent.channel';
import { AttachChannel } from './attach.channel';

type AgentSocket = Socket<
  AgentToControlPlaneEvents,
  ControlPlaneToAgentEvents,
  Record<string, never>,
  AgentSocketData
>;

/** A node with no heartbeat for this long is marked down. */
export const HEARTBEAT_TIMEOUT_MS = 15_000;
const SWEEP_INTERVAL_MS = 5_000;

/**
 * The node agents' endpoint. Each agent's events are handled one at a time, in the order
 * they arrived, so a `running` status can never overtake the `creating` before it.
 */
@WebSocketGateway({ namespace: AGENTS_NAMESPACE, ...SOCKET_SERVER_OPTIONS })
export class AgentsGateway
  implements OnGatewayInit<AgentNamespace>, OnGatewayConnection<Socket>, OnGatewayDisconnect<Socket>, OnModuleDestroy
{
  private readonly logger = new Logger(AgentsGateway.name);
  private namespace?: AgentNamespace;
  private sweepTimer?: NodeJS.Timeout;

  constructor(
    private readonly authenticator: AgentAuthenticator,
    private readonly channel: AgentChannel,
    private readonly nodes: NodesService,
    private readonly sandboxes: SandboxesService,
    private readonly attach: AttachChannel,
  ) {}

  afterInit(namespace: AgentNamespace): void {
    this.namespace = namespace;
    this.channel.attach(namespace);
    namespace.use((socket, next) => {
      // Polling would need sticky sessions across replicas; agents must use WebSocket.
      if (socket.conn.transport.name !== 'websocket') return next(new Error('websocket transport required'));
      const identity = this.authenticator.authenticate(socket.handshake.auth);
      if (!identity) return next(new Error('unauthenticated'));
      socket.data = { nodeId: identity.nodeId, registered: false };
      next();
    });
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweepTimer);
  }

  handleConnection(client: Socket): void {
    const socket = client as unknown as AgentSocket;
    const { nodeId } = socket.data;
    const queue = new SerialQueue();
    const serially = (what: string, work: () => Promise<void>): void => {
      queue.run(work).catch((err: unknown) => this.logger.error({ err, nodeId }, `handling ${what} failed`));
    };

    // Listeners first: the agent sends hello as soon as it is connected.
    socket.on('node:hello', (payload, ack) => {
      serially('node:hello', async () => {
        const hello = this.parse(nodeHelloSchema, payload, 'node:hello', nodeId);
        if (!hello) {
          reply(ack, { ok: false, error: { code: 'INVALID_PAYLOAD', message: 'node:hello payload is invalid' } });
          return;
        }
        await this.nodes.register(nodeId, hello);
        socket.data.registered = true;
        reply(ack, { ok: true, result: { nodeId } });
        await this.sandboxes.publishDesired(nodeId);
        await this.sandboxes.placePending();
      });
    });
    socket.on('node:heartbeat', (payload) => {
      serially('node:heartbeat', async () => {
        const heartbeat = this.parse(nodeHeartbeatSchema, payload, 'node:heartbeat', nodeId);
        if (!heartbeat || !this.registered(socket, 'node:heartbeat')) return;
        const revived = await this.nodes.heartbeat(nodeId);
        await this.sandboxes.reconcile(nodeId, heartbeat.sandboxIds);
        if (revived) await this.sandboxes.placePending();
      });
    });
    socket.on('sandbox:status', (payload) => {
      serially('sandbox:status', async () => {
        const status = this.parse(sandboxStatusSchema, payload, 'sandbox:status', nodeId);
        if (!status || !this.registered(socket, 'sandbox:status')) return;
        await this.sandboxes.applyStatus(nodeId, status);
      });
    });

    // Interactive sessions: not queued behind status work, output is acknowledged end to end.
    socket.on('session:output', (payload, ack) => {
      const output = this.parse(sessionOutputSchema, payload, 'session:output', nodeId);
      if (!output || typeof ack !== 'function') return;
      void this.attach.output(output).then(ack);
    });
    socket.on('session:exit', (payload) => {
      const exit = this.parse(sessionExitSchema, payload, 'session:exit', nodeId);
      if (exit) this.attach.exit(exit);
    });
    socket.on('session:error', (payload) => {
      const error = this.parse(sessionErrorSchema, payload, 'session:error', nodeId);
      if (error) this.attach.error(error.sessionId, error.error);
    });

    void socket.join(nodeRoom(nodeId));
    // A node has one connection: an older one (say, half-open after a network change) goes.
    serially('connection', async () => {
      for (const other of await this.namespaceOrFail().in(nodeRoom(nodeId)).fetchSockets()) {
        if (other.id !== socket.id) other.disconnect(true);
      }
    });
    this.logger.log({ nodeId }, 'node agent connected');
  }

  async handleDisconnect(client: Socket): Promise<void> {
    const { nodeId, registered } = client.data as AgentSocketData;
    this.logger.log({ nodeId }, 'node agent disconnected');
    if (!registered) return;
    try {
      // The node may already be connected again through a newer socket.
      const remaining = await this.namespaceOrFail().in(nodeRoom(nodeId)).fetchSockets();
      if (remaining.length === 0) await this.nodes.markDown(nodeId);
    } catch (err) {
      this.logger.error({ err, nodeId }, 'marking a disconnected node down failed');
    }
  }

  private sweep(): void {
    const cutoff = new Date(Date.now() - HEARTBEAT_TIMEOUT_MS);
    this.nodes
      .silentSince(cutoff)
      .then(async (nodeIds) => {
        for (const nodeId of nodeIds) {
          this.logger.warn({ nodeId }, `no heartbeat for ${HEARTBEAT_TIMEOUT_MS} ms: node down`);
          // The socket stays: socket.io clients do not reconnect after a server-side
          // disconnect, and the next heartbeat on it makes the node ready again.
          await this.nodes.markDown(nodeId);
        }
      })
      .catch((err: unknown) => this.logger.error({ err }, 'heartbeat sweep failed'));
  }

  private parse<T>(schema: z.ZodType<T>, payload: unknown, event: string, nodeId: string): T | undefined {
    const parsed = schema.safeParse(payload);
    if (parsed.success) return parsed.data;
    this.logger.warn({ nodeId, issues: parsed.error.issues.slice(0, 5) }, `invalid ${event} dropped`);
    return undefined;
  }

  private registered(socket: AgentSocket, event: string): boolean {
    if (!socket.data.registered) this.logger.warn({ nodeId: socket.data.nodeId }, `${event} before node:hello dropped`);
    return socket.data.registered;
  }

  private namespaceOrFail(): AgentNamespace {
    if (!this.namespace) throw new Error('agents namespace used before the gateway initialised');
    return this.namespace;
  }
}

/** Acks if the agent asked for one; a malformed agent may not have. */
function reply<T>(ack: unknown, value: AckReply<T>): void {
  if (typeof ack === 'function') (ack as (reply: AckReply<T>) => void)(value);
}
