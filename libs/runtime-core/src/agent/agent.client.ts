import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  AgentServiceClient,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  MAX_SIGNAL,
  type CreateContainerRequest,
  type CreateSandboxRequest,
  type ExecSyncResponse,
  type Interface,
  type Route,
  type LinuxResources,
} from '@moat/proto';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { AgentChannel, type UnaryOptions } from './agent.channel';
import { waitForAgent, type ReadinessCall } from './agent-ready';
import {
  DEFAULT_AGENT_LIMITS,
  type AgentExecRequest,
  type AgentLimits,
  type AgentProcessRequest,
  type ContainerStats,
  type ExecOutput,
  type ExitInfo,
  type GuestDetails,
  type OutputStream,
  type WindowSize,
} from './agent.types';
import { protocolViolation, validDetail, validExit, validProcessList, validStats, validWindow } from './agent.validation';
import { execProcessRequest, wholeRun } from './exec-request';
import { execToCompletion, type ProcessCalls } from './exec-to-completion';
import { GuestFiles, type GuestFilesApi } from './guest-files';
import type { AgentTransport } from './transport/agent-transport';

/** What the sandbox lifecycle needs from a guest agent connection; lets tests substitute a fake. */
export type AgentApi = Pick<
  AgentClient,
  | 'waitReady'
  | 'ping'
  | 'guestDetails'
  | 'createSandbox'
  | 'destroySandbox'
  | 'createContainer'
  | 'startContainer'
  | 'removeContainer'
  | 'exec'
  | 'updateInterface'
  | 'updateRoutes'
  | 'startProcess'
  | 'pumpOutput'
  | 'writeStdin'
  | 'closeStdin'
  | 'resizeTty'
  | 'signalProcess'
  | 'waitExit'
  | 'stats'
  | 'listProcesses'
  | 'updateContainer'
  | 'pauseContainer'
  | 'resumeContainer'
  | 'updateHostname'
  | 'files'
  | 'close'
>;

/** How long one Health.Check of a booting guest may take before it is asked again. */
const HEALTH_CHECK_TIMEOUT_MS = 2_000;

/**
 * The host side of the guest agent API. Treats the guest as hostile: every call has a deadline,
 * every reply is validated, and output is capped.
 */
export class AgentClient implements ProcessCalls {
  private readonly grpc: AgentChannel;
  private readonly agent: AgentServiceClient;
  private readonly health: HealthClient;
  /** The container's files (stat, list, read, write). */
  readonly files: GuestFilesApi;

  constructor(
    readonly transport: AgentTransport,
    private readonly limits: AgentLimits = DEFAULT_AGENT_LIMITS,
  ) {
    this.grpc = new AgentChannel(transport.grpcTarget, limits);
    this.agent = this.grpc.agent;
    this.health = this.grpc.health;
    this.files = new GuestFiles(this.grpc);
  }

  /**
   * Waits until the agent is ready, watching `vmFailure` (why the VM cannot boot, or undefined
   * while it can) throughout: see {@link waitForAgent}. Ready is Health.Check answering SERVING,
   * or with `setClock` (a guest whose clock stopped: restored, woken, forked) the guest taking
   * the host's time, which only a serving agent does: one round trip instead of two.
   */
  waitReady(bootTimeoutMs: number, vmFailure: () => Promise<string | undefined>, opts: { setClock?: boolean } = {}): Promise<void> {
    // A health check is quick to answer; setting the clock runs a process in the guest, which a loaded TCG guest is slow to do.
    const attempt: ReadinessCall = opts.setClock
      ? async ({ remainingMs, signal }) => {
          await this.setGuestDateTime({ timeoutMs: Math.min(this.limits.callTimeoutMs, remainingMs), waitForReady: true, signal });
          return true;
        }
      : async ({ remainingMs, signal }) => {
          const reply = await this.grpc.unary(this.health.check.bind(this.health), { service: '' }, 'Health.Check', {
            timeoutMs: Math.min(HEALTH_CHECK_TIMEOUT_MS, remainingMs),
            waitForReady: true,
            signal,
          });
          return reply.status === HealthCheckResponse_ServingStatus.SERVING;
        };
    return waitForAgent(attempt, bootTimeoutMs, vmFailure);
  }

  /**
   * One Health.Check with a deadline: resolves, if the agent answers SERVING in time, with the
   * instance it drew when its process started (undefined from an agent too old to say).
   */
  async ping(timeoutMs: number): Promise<string | undefined> {
    const reply = await this.grpc.unary(this.health.check.bind(this.health), { service: '' }, 'Health.Check', { timeoutMs });
    if (reply.status !== HealthCheckResponse_ServingStatus.SERVING) {
      throw new RuntimeError(RuntimeErrorCode.AGENT_UNREACHABLE, `the guest agent answered health status ${reply.status}`);
    }
    return reply.instance === '' ? undefined : validDetail(reply.instance, 'instance', 'Health.Check');
  }

  async guestDetails(): Promise<GuestDetails> {
    const reply = await this.grpc.unary(this.agent.getGuestDetails.bind(this.agent), {}, 'GetGuestDetails');
    return {
      kernelRelease: validDetail(reply.kernelRelease, 'kernel_release'),
      agentVersion: validDetail(reply.agentVersion, 'agent_version'),
    };
  }

  async createSandbox(request: CreateSandboxRequest): Promise<void> {
    await this.grpc.unary(this.agent.createSandbox.bind(this.agent), request, 'CreateSandbox');
  }

  /** Configures the guest NIC with this MAC (name, MTU, addresses); the reply is not trusted, so it is dropped. */
  async updateInterface(iface: Interface): Promise<void> {
    await this.grpc.unary(this.agent.updateInterface.bind(this.agent), { interface: iface }, 'UpdateInterface', { timeoutMs: this.networkCallTimeoutMs() });
  }

  /** Replaces the routes of the devices named in `routes`. */
  async updateRoutes(routes: Route[]): Promise<void> {
    await this.grpc.unary(this.agent.updateRoutes.bind(this.agent), { routes: { routes } }, 'UpdateRoutes', { timeoutMs: this.networkCallTimeoutMs() });
  }

  /** The guest runs a few `ip` commands per network call; a loaded TCG guest forks slowly. */
  private networkCallTimeoutMs(): number {
    return this.limits.callTimeoutMs * 3;
  }

  async destroySandbox(): Promise<void> {
    await this.grpc.unary(this.agent.destroySandbox.bind(this.agent), {}, 'DestroySandbox');
  }

  async createContainer(request: CreateContainerRequest): Promise<void> {
    await this.grpc.unary(this.agent.createContainer.bind(this.agent), request, 'CreateContainer');
  }

  async startContainer(containerId: string): Promise<void> {
    await this.grpc.unary(this.agent.startContainer.bind(this.agent), { containerId }, 'StartContainer');
  }

  async removeContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    await this.grpc.unary(this.agent.removeContainer.bind(this.agent), { containerId, timeoutSeconds }, 'RemoveContainer', {
      timeoutMs: this.limits.callTimeoutMs + timeoutSeconds * 1000,
    });
  }

  /**
   * Runs a process to completion: stdin is written then closed while stdout/stderr drain to EOF,
   * each captured up to `maxOutputBytes` (beyond that the process is killed and the exec fails).
   */
  async exec(req: AgentExecRequest): Promise<ExecOutput> {
    return execToCompletion(this, this.limits, req);
  }

  /** Starts a process; its output is read with {@link pumpOutput} and its end with {@link waitExit}. */
  async startProcess(req: AgentProcessRequest): Promise<void> {
    await this.grpc.unary(this.agent.execProcess.bind(this.agent), execProcessRequest(req), 'ExecProcess');
  }

  async runToEnd(req: AgentProcessRequest, stdin: Buffer): Promise<ExecOutput | undefined> {
    const inlineBytes = this.limits.readChunkBytes;
    let reply: ExecSyncResponse;
    try {
      reply = await this.grpc.unary(this.agent.execSync.bind(this.agent), { exec: execProcessRequest(req), stdin, inlineBytes }, 'ExecSync', {
        timeoutMs: this.limits.pollTimeoutMs,
      });
    } catch (error) {
      // The guest answers incomplete before this deadline; past it, the process may run: read on.
      if (error instanceof RuntimeError && error.context.grpcCode === GrpcStatus.DEADLINE_EXCEEDED) return undefined;
      throw error;
    }
    return wholeRun(reply, inlineBytes);
  }

  /**
   * Reads one output stream to its end, handing each chunk to `sink` and waiting for it before
   * the next read: a slow consumer slows the guest process down instead of filling memory.
   */
  async pumpOutput(
    containerId: string,
    execId: string,
    stream: OutputStream,
    sink: (chunk: Buffer) => Promise<void> | void,
    signal: AbortSignal,
  ): Promise<void> {
    const name = stream === 'stdout' ? 'ReadStdout' : 'ReadStderr';
    const method = stream === 'stdout' ? this.agent.readStdout.bind(this.agent) : this.agent.readStderr.bind(this.agent);
    for (;;) {
      const reply = await this.grpc.poll(method, { containerId, execId, len: this.limits.readChunkBytes }, name, signal);
      const data: unknown = reply.data;
      if (!(data instanceof Uint8Array)) throw protocolViolation(`${name} returned no data field`);
      if (data.length === 0) return;
      if (data.length > this.limits.readChunkBytes) {
        throw protocolViolation(`${name} returned ${data.length} bytes, more than the ${this.limits.readChunkBytes} asked for`);
      }
      await sink(Buffer.from(data));
    }
  }

  /** Writes all of `data` to the process's stdin, in chunks, each acknowledged by the guest. */
  async writeStdin(containerId: string, execId: string, data: Buffer, signal?: AbortSignal): Promise<void> {
    for (let offset = 0; offset < data.length; ) {
      const chunk = data.subarray(offset, offset + this.limits.writeChunkBytes);
      const reply = await this.grpc.unary(this.agent.writeStdin.bind(this.agent), { containerId, execId, data: chunk }, 'WriteStdin', { signal });
      if (!Number.isInteger(reply.len) || reply.len === 0 || reply.len > chunk.length) {
        throw protocolViolation(`WriteStdin reported ${reply.len} of ${chunk.length} bytes written`);
      }
      offset += reply.len;
    }
  }

  async closeStdin(containerId: string, execId: string, signal?: AbortSignal): Promise<void> {
    await this.grpc.unary(this.agent.closeStdin.bind(this.agent), { containerId, execId }, 'CloseStdin', { signal });
  }

  async resizeTty(containerId: string, execId: string, window: WindowSize): Promise<void> {
    await this.grpc.unary(this.agent.ttyWinResize.bind(this.agent), { containerId, execId, window: validWindow(window) }, 'TtyWinResize');
  }

  async signalProcess(containerId: string, execId: string, signal: number): Promise<void> {
    if (!Number.isInteger(signal) || signal < 1 || signal > MAX_SIGNAL) {
      throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `signal must be 1-${MAX_SIGNAL}, got ${signal}`);
    }
    await this.grpc.unary(this.agent.signalProcess.bind(this.agent), { containerId, execId, signal }, 'SignalProcess');
  }

  /** Waits for the process to end (a long-poll, repeated until `signal` aborts). */
  async waitExit(containerId: string, execId: string, signal: AbortSignal): Promise<ExitInfo> {
    return validExit(await this.grpc.poll(this.agent.waitProcess.bind(this.agent), { containerId, execId }, 'WaitProcess', signal));
  }

  /** The container's cgroup counters, checked for plausibility. */
  async stats(containerId: string): Promise<ContainerStats> {
    const reply = await this.grpc.unary(this.agent.statsContainer.bind(this.agent), { containerId }, 'StatsContainer');
    return validStats(reply);
  }

  /** The container's processes by guest pid. */
  async listProcesses(containerId: string): Promise<number[]> {
    return validProcessList(await this.grpc.unary(this.agent.listProcesses.bind(this.agent), { containerId }, 'ListProcesses'));
  }

  async updateContainer(containerId: string, resources: LinuxResources): Promise<void> {
    await this.grpc.unary(this.agent.updateContainer.bind(this.agent), { containerId, resources }, 'UpdateContainer');
  }

  async pauseContainer(containerId: string): Promise<void> {
    await this.grpc.unary(this.agent.pauseContainer.bind(this.agent), { containerId }, 'PauseContainer');
  }

  async resumeContainer(containerId: string): Promise<void> {
    await this.grpc.unary(this.agent.resumeContainer.bind(this.agent), { containerId }, 'ResumeContainer');
  }

  /** A forked VM's new name, for the guest and its containers (after its NIC has its own addresses). */
  async updateHostname(hostname: string): Promise<void> {
    await this.grpc.unary(this.agent.updateHostname.bind(this.agent), { hostname }, 'UpdateHostname');
  }

  /** Sets the guest clock to the host's (e.g. after the VM was paused): see waitReady's `setClock`. */
  private async setGuestDateTime(opts: UnaryOptions): Promise<void> {
    const ms = Date.now();
    await this.grpc.unary(this.agent.setGuestDateTime.bind(this.agent), { sec: Math.floor(ms / 1000), usec: (ms % 1000) * 1000 }, 'SetGuestDateTime', opts);
  }

  /** Copies a file into the guest in chunks of `writeChunkBytes`. */
  async copyFile(path: string, data: Buffer, opts: { fileMode?: number; dirMode?: number; uid?: number; gid?: number } = {}): Promise<void> {
    let offset = 0;
    do {
      const chunk = data.subarray(offset, offset + this.limits.writeChunkBytes);
      await this.grpc.unary(this.agent.copyFile.bind(this.agent), {
        path,
        fileSize: data.length,
        fileMode: opts.fileMode ?? 0o644,
        dirMode: opts.dirMode ?? 0o755,
        uid: opts.uid ?? 0,
        gid: opts.gid ?? 0,
        offset,
        data: chunk,
      }, 'CopyFile');
      offset += chunk.length;
    } while (offset < data.length);
  }

  /** Waits for the next container OOM event (a long-poll); resolves with the container's id. */
  async nextOomEvent(signal: AbortSignal): Promise<string> {
    const reply = await this.grpc.poll(this.agent.getOomEvent.bind(this.agent), {}, 'GetOOMEvent', signal);
    return validDetail(reply.containerId, 'container_id', 'GetOOMEvent');
  }

  /** The agent's version and API package, as Health.Version reports them. */
  async version(): Promise<{ grpcVersion: string; agentVersion: string }> {
    const reply = await this.grpc.unary(this.health.version.bind(this.health), { service: '' }, 'Health.Version');
    return {
      grpcVersion: validDetail(reply.grpcVersion, 'grpc_version', 'Health.Version'),
      agentVersion: validDetail(reply.agentVersion, 'agent_version', 'Health.Version'),
    };
  }

  close(): void {
    this.grpc.close();
    this.transport.close();
  }
}
