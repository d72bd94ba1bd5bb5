import {
  AGENTS_NAMESPACE,
  packLogsPage,
  type AckReply,
  type AgentToControlPlaneEvents,
  type ContainerdSandbox,
  type ControlPlaneToAgentEvents,
  type DesiredState,
  type ExecRequest,
  type ExecReplyResult,
  type NodeHello,
  type SandboxLogsPage,
  type SandboxLogsRequest,
  type SandboxMigrateIn,
  type SandboxMigrateOut,
  type SandboxMigrateOutReply,
  type SandboxReceive,
  type SandboxReceiveReply,
  type SandboxSend,
  type SandboxSendReply,
  type SandboxStatus,
  type TenantPeersUpdate,
} from '@moat/proto';
import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { eventually } from '@moat/test-support';

type AgentClientSocket = Socket<ControlPlaneToAgentEvents, AgentToControlPlaneEvents>;

/** What a current node agent says of itself on a QEMU host with the default settings. */
export const AGENT_SIZING = { sandboxOverheadMiB: 160, cpuOvercommit: 16, memoryReserveMiB: 1024 };

/** A node agent stand-in speaking the real fleet protocol over a real socket.io client. */
export class TestAgent {
  readonly desired: DesiredState[] = [];
  /** The `tenant:peers` messages received, oldest first. */
  readonly tenantPeers: TenantPeersUpdate[] = [];
  /** Every word on a tenant's peers, in the order received: a desired set's plans that carry them, and `tenant:peers` (this node's own address left out, as a node agent does). */
  private readonly peerWords: { tenantId: string; peers: readonly string[] }[] = [];
  readonly execRequests: ExecRequest[] = [];
  /** How exec requests are answered; undefined leaves them unanswered (to test timeouts). */
  onExec: ((request: ExecRequest) => AckReply<ExecReplyResult> | undefined) | undefined;
  readonly logRequests: SandboxLogsRequest[] = [];
  /** How `sandbox:logs` is answered (it may wait, as a node does); undefined leaves it unanswered. */
  onLogs: ((request: SandboxLogsRequest) => Promise<AckReply<SandboxLogsPage>> | undefined) | undefined;
  readonly receiveRequests: SandboxReceive[] = [];
  /** How `sandbox:receive` (a move's target) is answered; undefined leaves it unanswered. */
  onReceive: ((request: SandboxReceive) => Promise<AckReply<SandboxReceiveReply>> | AckReply<SandboxReceiveReply> | undefined) | undefined;
  readonly sendRequests: SandboxSend[] = [];
  /** How `sandbox:send` (a move's source) is answered (it may wait, as a transfer does); undefined leaves it unanswered. */
  onSend: ((request: SandboxSend) => Promise<AckReply<SandboxSendReply>> | AckReply<SandboxSendReply> | undefined) | undefined;
  readonly migrateInRequests: SandboxMigrateIn[] = [];
  /** How `sandbox:migrate-in` (a live migration's target) is answered; undefined leaves it unanswered. */
  onMigrateIn: ((request: SandboxMigrateIn) => Promise<AckReply<SandboxReceiveReply>> | AckReply<SandboxReceiveReply> | undefined) | undefined;
  readonly migrateOutRequests: SandboxMigrateOut[] = [];
  /** How `sandbox:migrate-out` (a live migration's source) is answered (it may wait, as a migration does); undefined leaves it unanswered. */
  onMigrateOut: ((request: SandboxMigrateOut) => Promise<AckReply<SandboxMigrateOutReply>> | AckReply<SandboxMigrateOutReply> | undefined) | undefined;
  /** The sandboxes this agent says it holds: reported in any state but `gone`. */
  readonly held = new Set<string>();
  private heartbeatTimer?: NodeJS.Timeout;

  private constructor(
    readonly socket: AgentClientSocket,
    readonly nodeId: string,
  ) {
    socket.on('sandboxes:desired', (state) => {
      this.desired.push(state);
      for (const plan of state.networks ?? []) if (plan.peers !== undefined) this.peerWords.push({ tenantId: plan.tenantId, peers: plan.peers });
    });
    socket.on('tenant:peers', (update) => {
      this.tenantPeers.push(update);
      const own = this.desired.at(-1)?.underlayAddress;
      this.peerWords.push({ tenantId: update.tenantId, peers: update.peers.filter((address) => address !== own) });
    });
    socket.on('sandbox:exec', (request, ack) => {
      this.execRequests.push(request);
      const reply = this.onExec?.(request);
      if (reply) ack(reply);
    });
    socket.on('sandbox:receive', (request, ack) => {
      this.receiveRequests.push(request);
      void Promise.resolve(this.onReceive?.(request)).then((reply) => reply && ack(reply));
    });
    socket.on('sandbox:send', (request, ack) => {
      this.sendRequests.push(request);
      void Promise.resolve(this.onSend?.(request)).then((reply) => reply && ack(reply));
    });
    socket.on('sandbox:migrate-in', (request, ack) => {
      this.migrateInRequests.push(request);
      void Promise.resolve(this.onMigrateIn?.(request)).then((reply) => reply && ack(reply));
    });
    socket.on('sandbox:migrate-out', (request, ack) => {
      this.migrateOutRequests.push(request);
      void Promise.resolve(this.onMigrateOut?.(request)).then((reply) => reply && ack(reply));
    });
    socket.on('sandbox:logs', (request, ack) => {
      this.logRequests.push(request);
      // As a node sends them: every entry's bytes in one buffer.
      void this.onLogs?.(request)?.then((reply) => ack(reply.ok ? { ok: true, result: packLogsPage(reply.result) } : reply));
    });
  }

  /**
   * Connects; rejects with the server's reason if the handshake is refused. `ca` (PEM) is the
   * only authority an `https://` control plane's certificate is checked against.
   */
  static connect(baseUrl: string, token: string, nodeId: string = randomUUID(), ca?: string): Promise<TestAgent> {
    const socket: AgentClientSocket = io(`${baseUrl}${AGENTS_NAMESPACE}`, {
      transports: ['websocket'],
      auth: { token, nodeId },
      reconnection: false,
      forceNew: true,
      ...(ca !== undefined && { ca }),
    });
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(new TestAgent(socket, nodeId)));
      socket.once('connect_error', (err) => {
        socket.close();
        reject(err);
      });
    });
  }

  hello(overrides: Partial<NodeHello> = {}): Promise<AckReply<{ nodeId: string }>> {
    return this.socket.timeout(5_000).emitWithAck('node:hello', {
      name: `node-${this.nodeId.slice(0, 8)}`,
      capacity: { vcpus: 8, memoryMiB: 8192 },
      accel: 'tcg',
      hypervisors: ['qemu'],
      agentVersion: 'test',
      jailed: true,
      ...overrides,
    });
  }

  status(status: SandboxStatus): void {
    if (status.state === 'gone') this.held.delete(status.id);
    else this.held.add(status.id);
    this.socket.emit('sandbox:status', status);
  }

  /** A heartbeat; `containerd` lists the sandboxes containerd started on the node (absent: as an older agent). */
  heartbeat(sandboxIds: string[], containerd?: ContainerdSandbox[]): void {
    this.socket.emit('node:heartbeat', { sandboxIds, ...(containerd && { containerd }) });
  }

  /** Heartbeats every `ms` like a real agent, listing `sandboxIds()`; until `stopHeartbeats`. */
  startHeartbeats(ms: number, sandboxIds: () => string[] = () => []): void {
    this.stopHeartbeats();
    this.heartbeatTimer = setInterval(() => this.heartbeat(sandboxIds()), ms);
  }

  stopHeartbeats(): void {
    clearInterval(this.heartbeatTimer);
  }

  /** The peers this node holds for a tenant: the last word on them, from a desired set or `tenant:peers`; undefined before any. */
  peersHeld(tenantId: string): readonly string[] | undefined {
    return this.peerWords.findLast((word) => word.tenantId === tenantId)?.peers;
  }

  /** Waits until the latest desired set received holds sandbox ids matching `predicate`. */
  desiredWhere(predicate: (ids: string[]) => boolean, timeoutMs = 10_000): Promise<DesiredState> {
    return eventually(() => {
      const latest = this.desired.at(-1);
      if (!latest || !predicate(latest.sandboxes.map((s) => s.id))) {
        return Promise.reject(new Error(`no matching desired set; latest: ${JSON.stringify(latest)}`));
      }
      return Promise.resolve(latest);
    }, { timeout: timeoutMs });
  }

  /**
   * Behaves like a node agent whose sandboxes start at once: every sandbox that appears in
   * the desired set is reported `running`, every one that leaves it `gone`; heartbeats keep
   * the node alive; and health checks are answered as the command would exit in a shell
   * (`["false"]` fails, anything else passes), so templates choose their own health.
   */
  simulate(): void {
    const runs = new Set<string>();
    this.socket.on('sandboxes:desired', (state) => {
      const wanted = new Set(state.sandboxes.map((s) => s.id));
      for (const id of wanted) {
        if (runs.has(id)) continue;
        runs.add(id);
        this.status({ id, state: 'running', timings: [] });
      }
      for (const id of runs) {
        if (wanted.has(id)) continue;
        runs.delete(id);
        this.status({ id, state: 'gone', timings: [] });
      }
    });
    this.onExec = (request) => ({
      ok: true,
      result: { exitCode: request.command[0] === 'false' ? 1 : 0, stdout: '', stderr: '' },
    });
    const timer = setInterval(() => this.heartbeat([...runs]), 2_000);
    this.socket.on('disconnect', () => clearInterval(timer));
  }

  close(): void {
    this.stopHeartbeats();
    this.socket.close();
  }
}
