/**
 * A SIMULATED node agent for benchmarks: a real socket.io connection speaking the real fleet
 * protocol, but with a simulated runtime — a sandbox in its desired set is reported
 * `running` at once (after `startDelayMs`), one dropped from it `gone`; no VM is started.
 * It is named `sim-…`, reports the hypervisor `simulated`, and joins with the label
 * `simulated=true`, so it can never be mistaken for a real node.
 */
import {
  AGENTS_NAMESPACE,
  NODE_JOIN_PATH,
  nodeJoinResponseSchema,
  type AckReply,
  type AgentToControlPlaneEvents,
  type Capacity,
  type ControlPlaneToAgentEvents,
  type DesiredSandbox,
  type NodeHello,
} from '@moat/proto';
import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';

type AgentSocket = Socket<ControlPlaneToAgentEvents, AgentToControlPlaneEvents>;

/** How long a hello may wait for the control plane's acknowledgement. */
const HELLO_TIMEOUT_MS = 120_000;

export interface SimulatedAgentOptions {
  url: string;
  /** Joins with this single-use join token; or connects with `token` (e.g. the admin token). */
  joinToken?: string;
  token?: string;
  name: string;
  capacity: Capacity;
  heartbeatMs: number;
  /** How long a simulated sandbox takes to become `running` (0: at once). */
  startDelayMs?: number;
  /** Told about every status sent, for the benchmark's bookkeeping. */
  onStatus?: (sandboxId: string, state: 'running' | 'gone') => void;
}

/** One simulated node agent; see the module comment. */
export class SimulatedAgent {
  readonly nodeId = randomUUID();
  /** Sandboxes this simulated node "runs". */
  readonly running = new Map<string, DesiredSandbox>();
  desiredSets = 0;
  private socket?: AgentSocket;
  private heartbeat?: NodeJS.Timeout;

  constructor(private readonly opts: SimulatedAgentOptions) {}

  /** Joins if needed, connects and says hello; resolves once the control plane acknowledged. */
  async start(): Promise<void> {
    const token = this.opts.joinToken ? await this.join(this.opts.joinToken) : this.opts.token;
    if (!token) throw new Error('a simulated agent needs a join token or a token');
    const socket: AgentSocket = io(new URL(AGENTS_NAMESPACE, this.opts.url).toString(), {
      transports: ['websocket'],
      auth: { token, nodeId: this.nodeId },
      reconnectionDelayMax: 5_000,
    });
    this.socket = socket;
    socket.on('sandboxes:desired', (state) => this.converge(state.sandboxes));
    socket.on('sandbox:exec', (req, ack) => ack({ ok: true, result: { exitCode: 0, stdout: `simulated: ${req.command.join(' ')}\n`, stderr: '' } }));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect_error', reject);
      socket.on('connect', () => {
        this.hello().then(resolve, reject);
      });
    });
    // Spread heartbeats over the interval, as independent hosts would.
    const first = Math.floor(Math.random() * this.opts.heartbeatMs);
    this.heartbeat = setTimeout(() => {
      this.beat();
      this.heartbeat = setInterval(() => this.beat(), this.opts.heartbeatMs);
    }, first);
  }

  /**
   * Says hello (again), reporting `capacity` from now on: a benchmark can make room appear
   * on every node at once.
   */
  async hello(capacity: Capacity = this.opts.capacity): Promise<void> {
    this.opts.capacity = capacity;
    if (!this.socket) throw new Error('not started');
    // Without a timeout a hello lost with its connection would never settle.
    const hello: NodeHello = { name: this.opts.name, capacity, accel: 'kvm', hypervisors: ['simulated'], agentVersion: 'simulated', jailed: true };
    // socket.io types the acknowledgement of a timed emit loosely; it is the hello reply.
    const reply = (await this.socket.timeout(HELLO_TIMEOUT_MS).emitWithAck('node:hello', hello)) as AckReply<{ nodeId: string }>;
    if (!reply.ok) throw new Error(`hello refused: ${reply.error.message}`);
  }

  get connected(): boolean {
    return this.socket?.connected ?? false;
  }

  stop(): void {
    clearTimeout(this.heartbeat);
    clearInterval(this.heartbeat);
    this.socket?.close();
  }

  private async join(joinToken: string): Promise<string> {
    const response = await fetch(new URL(NODE_JOIN_PATH, this.opts.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: joinToken, nodeId: this.nodeId, name: this.opts.name }),
    });
    const text = await response.text();
    if (response.status !== 201) throw new Error(`join failed (${response.status}): ${text}`);
    return nodeJoinResponseSchema.parse(JSON.parse(text)).credential;
  }

  private beat(): void {
    if (this.socket?.connected) this.socket.emit('node:heartbeat', { sandboxIds: [...this.running.keys()] });
  }

  private converge(desired: DesiredSandbox[]): void {
    this.desiredSets++;
    const wanted = new Map(desired.map((s) => [s.id, s]));
    for (const [id, sandbox] of wanted) {
      if (this.running.has(id)) continue;
      this.running.set(id, sandbox);
      const report = (): void => {
        this.socket?.emit('sandbox:status', { id, state: 'running', timings: [{ phase: 'simulated', ms: 0 }] });
        this.opts.onStatus?.(id, 'running');
      };
      if (this.opts.startDelayMs) setTimeout(report, this.opts.startDelayMs);
      else report();
    }
    for (const id of [...this.running.keys()]) {
      if (wanted.has(id)) continue;
      this.running.delete(id);
      this.socket?.emit('sandbox:status', { id, state: 'gone', timings: [] });
      this.opts.onStatus?.(id, 'gone');
    }
  }
}
