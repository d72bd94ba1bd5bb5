import { BeforeApplicationShutdown, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
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
  type NodeHello,
  type SandboxStatus,
} from '@moat/proto';
import type { Socket } from 'socket.io';
import type { z } from 'zod';
import { Batcher } from '../common/batcher';
import { FleetAdmission } from '../common/fleet-admission';
import { SerialQueue } from '../common/serial-queue';
import { SOCKET_SERVER_OPTIONS } from '../common/socket-server.options';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { NodesService } from '../nodes/nodes.service';
import { AgentChannel, AgentNamespace, AgentSocketData, nodeRoom } from '../fleet/agent.channel';
import { AttachChannel } from '../fleet/attach.channel';
import { DesiredStatePublisher } from '../fleet/desired-state.publisher';
import { SchedulerService } from '../scheduler/scheduler.service';
import { AgentAuthenticator } from './agent-auth.service';
import { SandboxReports, type NodeBeat } from './sandbox-reports.service';
import { AbandonedMoves } from '../sandboxes/move/abandoned-moves';

/**
 * How long hellos and status reports wait for others before they are stored together: a
 * fleet's reports trickle in (hundreds a second after a large placement), and each batch
 * costs a transaction and a commit. Short next to anything a sandbox or a node does.
 */
const BATCH_WINDOW_MS = 10;
/**
 * At most this many hellos are registered together: a batch's acknowledgements, desired sets
 * and placement pass run back to back, and a fleet reporting room at once must not hold the API.
 */
const HELLO_BATCH = 250;

/** A hello waiting to be registered with others; `accepted` acknowledges it once stored. */
interface PendingHello {
  nodeId: string;
  hello: NodeHello;
  /** Where its connection came from. */
  remoteAddress: string | undefined;
  accepted: () => void;
}

type AgentSocket = Socket<
  AgentToControlPlaneEvents,
  ControlPlaneToAgentEvents,
  Record<string, never>,
  AgentSocketData
>;

/**
 * The node agents' endpoint. Each agent's events are handled one at a time, in the order
 * they arrived, so a `running` status can never overtake the `creating` before it.
 *
 * Heartbeats are collected in memory and written in one statement per flush (a fleet of
 * 10,000 nodes heartbeating every 5 s would otherwise cost 2,000 writes a second). A node
 * is down when its socket closes, or when it has been silent past the heartbeat TTL plus
 * the grace period (a half-open connection).
 */
@WebSocketGateway({ namespace: AGENTS_NAMESPACE, ...SOCKET_SERVER_OPTIONS })
export class AgentsGateway
  implements
    OnGatewayInit<AgentNamespace>,
    OnGatewayConnection<Socket>,
    OnGatewayDisconnect<Socket>,
    OnModuleInit,
    BeforeApplicationShutdown,
    OnModuleDestroy
{
  private readonly logger = new Logger(AgentsGateway.name);
  private namespace?: AgentNamespace;
  private timers: NodeJS.Timeout[] = [];
  /** Latest heartbeat per node since the last flush: the sandbox ids it listed. */
  private beats = new Map<string, NodeBeat>();
  private flushing = false;
  private closing = false;
  private readonly silenceMs: number;
  private readonly flushMs: number;
  /** Nodes silent since before this process started get a full silence period to reconnect. */
  private readonly startedAt = Date.now();
  private readonly hellos = new Batcher<PendingHello>((batch) => this.registerHellos(batch), { windowMs: BATCH_WINDOW_MS, maxBatch: HELLO_BATCH });
  private readonly statuses = new Batcher<{ nodeId: string; status: SandboxStatus }>(
    (batch) => this.reports.applyStatuses(batch),
    { windowMs: BATCH_WINDOW_MS },
  );

  constructor(
    private readonly authenticator: AgentAuthenticator,
    private readonly channel: AgentChannel,
    private readonly nodes: NodesService,
    private readonly reports: SandboxReports,
    private readonly publisher: DesiredStatePublisher,
    private readonly scheduler: SchedulerService,
    private readonly attach: AttachChannel,
    private readonly metrics: MetricsService,
    private readonly abandonedMoves: AbandonedMoves,
    private readonly admission: FleetAdmission,
    config: AppConfig,
  ) {
    this.silenceMs = config.fleet.nodeHeartbeatTtlMs + config.fleet.nodeGraceMs;
    this.flushMs = Math.min(1_000, Math.max(50, Math.floor(config.fleet.nodeHeartbeatTtlMs / 4)));
  }

  afterInit(namespace: AgentNamespace): void {
    this.namespace = namespace;
    this.channel.attach(namespace);
    namespace.use((socket, next) => {
      // Polling would need sticky sessions across replicas; agents must use WebSocket.
      if (socket.conn.transport.name !== 'websocket') return next(new Error('websocket transport required'));
      this.admission.pass().then(() => this.authenticator.authenticate(socket.handshake.auth)).then(
        (identity) => {
          if (!identity) return next(new Error('unauthenticated'));
          socket.data = { nodeId: identity.nodeId, registered: false };
          next();
        },
        (err: unknown) => {
          this.logger.error({ err }, 'node agent authentication failed');
          next(new Error('internal error'));
        },
      );
    });
    const sweepMs = Math.min(5_000, Math.max(50, Math.floor(this.silenceMs / 4)));
    this.timers = [setInterval(() => this.sweep(), sweepMs), setInterval(() => this.flushHeartbeats(), this.flushMs)];
    this.timers.forEach((timer) => timer.unref());
  }

  /**
   * Before any agent is accepted: nodes are `unknown` until they say hello to this control
   * plane — it cannot tell which are still there — except those connected to another
   * replica right now (through the Redis adapter; without one there are none).
   */
  async onModuleInit(): Promise<void> {
    let connected = new Set<string>();
    try {
      const sockets = await this.namespaceOrFail().fetchSockets();
      connected = new Set(sockets.filter((socket) => socket.data.registered).map((socket) => socket.data.nodeId));
    } catch (err) {
      // Nodes connected elsewhere come back with their next heartbeat flush.
      this.logger.warn({ err }, 'could not ask other replicas which nodes they hold');
    }
    const marked = await this.nodes.markUnknownOnStart(connected);
    if (marked.length > 0) this.logger.log({ nodes: marked.length }, 'nodes unknown until they say hello');
  }

  /** Nodes must not be marked down because this process is going away. */
  beforeApplicationShutdown(): void {
    this.closing = true;
  }

  onModuleDestroy(): void {
    this.timers.forEach((timer) => clearInterval(timer));
  }

  handleConnection(client: Socket): void {
    const socket = client as unknown as AgentSocket;
    const { nodeId } = socket.data;
    this.metrics.agentsConnected.inc();
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
        try {
          await this.hellos.add({
            nodeId,
            hello,
            remoteAddress: socket.handshake.address,
            accepted: () => {
              socket.data.registered = true;
              reply(ack, { ok: true, result: { nodeId } });
            },
          });
        } catch (err) {
          // The agent says hello again; until then its reports are dropped.
          reply(ack, { ok: false, error: { code: 'HELLO_FAILED', message: 'the control plane could not register this node; say hello again' } });
          throw err;
        }
      });
    });
    socket.on('node:heartbeat', (payload) => {
      const heartbeat = this.parse(nodeHeartbeatSchema, payload, 'node:heartbeat', nodeId);
      if (!heartbeat || !this.registered(socket, 'node:heartbeat')) return;
      this.beats.set(nodeId, { sandboxIds: heartbeat.sandboxIds, containerd: heartbeat.containerd, receivedAt: new Date() });
    });
    socket.on('sandbox:status', (payload) => {
      serially('sandbox:status', async () => {
        const status = this.parse(sandboxStatusSchema, payload, 'sandbox:status', nodeId);
        if (!status || !this.registered(socket, 'sandbox:status')) return;
        await this.statuses.add({ nodeId, status });
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
    this.logger.debug({ nodeId }, 'node agent connected');
  }

  async handleDisconnect(client: Socket): Promise<void> {
    this.metrics.agentsConnected.dec();
    const { nodeId, registered } = client.data as AgentSocketData;
    this.logger.debug({ nodeId }, 'node agent disconnected');
    if (!registered || this.closing) return;
    try {
      // The node may already be connected again through a newer socket.
      const remaining = await this.namespaceOrFail().in(nodeRoom(nodeId)).fetchSockets();
      if (remaining.length === 0) {
        this.logger.warn({ nodeId }, 'node agent disconnected: node down');
        this.beats.delete(nodeId);
        await this.nodes.markDown(nodeId);
      }
    } catch (err) {
      this.logger.error({ err, nodeId }, 'marking a disconnected node down failed');
    }
  }

  /** Hellos that arrived together: one registration, one read of their desired sets, one placement pass. */
  private async registerHellos(batch: PendingHello[]): Promise<void> {
    await this.nodes.registerMany(batch.map(({ nodeId, hello, remoteAddress }) => ({ id: nodeId, hello, remoteAddress })));
    batch.forEach((pending) => pending.accepted());
    // The full desired set: the node stops whatever is not in it (the fence on reconnect); and,
    // as on every new connection, its tenants' peers.
    await this.publisher.publish([...new Set(batch.map((pending) => pending.nodeId))], { withPeers: true });
    await this.scheduler.placePending();
  }

  private flushHeartbeats(): void {
    if (this.flushing || this.beats.size === 0) return;
    this.flushing = true;
    const beats = this.beats;
    this.beats = new Map();
    (async () => {
      const { revived, containerdChanged } = await this.nodes.recordHeartbeats(beats);
      if (revived.length > 0) {
        this.logger.log({ nodes: revived }, 'silent or unknown nodes heartbeat: up');
        // Their agents report every sandbox again on receiving the desired set.
        await this.publisher.publish(revived);
      }
      // Room came back or went (containerd started or deleted a task): pending sandboxes are tried
      // again, and their reasons worked out anew.
      if (revived.length > 0 || containerdChanged.length > 0) await this.scheduler.placePending();
      await this.reports.reconcile(beats);
      this.abandonedMoves.observe(beats);
    })()
      .catch((err: unknown) => this.logger.error({ err }, 'recording heartbeats failed'))
      .finally(() => {
        this.flushing = false;
      });
  }

  private sweep(): void {
    // Nobody can have been silent towards this process for longer than it has run.
    if (Date.now() - this.startedAt < this.silenceMs) return;
    const cutoff = new Date(Date.now() - this.silenceMs);
    this.nodes
      .silentSince(cutoff)
      .then(async (nodeIds) => {
        for (const nodeId of nodeIds) {
          if (this.beats.has(nodeId)) continue;
          this.logger.warn({ nodeId }, `no heartbeat for ${this.silenceMs} ms: node down`);
          // The socket stays: socket.io clients do not reconnect after a server-side
          // disconnect, and the next heartbeat on it brings the node back.
          await this.nodes.markDown(nodeId, cutoff);
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
