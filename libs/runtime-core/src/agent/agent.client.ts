import {
  Channel,
  credentials,
  Metadata,
  status as GrpcStatus,
  type CallOptions,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  AGENT_CALL_TIMEOUT_MS,
  AGENT_KILL_GRACE_MS,
  AGENT_MAX_CHUNK_BYTES,
  AgentServiceClient,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  MAX_EXIT_STATUS,
  MAX_SIGNAL,
  MAX_WINDOW_DIMENSION,
  type CreateContainerRequest,
  type CreateSandboxRequest,
  type Interface,
  type Route,
  type LinuxResources,
  type StatsContainerResponse,
} from '@moat/proto';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { sleep } from '../host/process.adapter';
import type { AgentTransport } from './transport/agent-transport';

/** Bounds on what the host accepts from an untrusted guest. */
export interface AgentLimits {
  /** Deadline of every call that should complete promptly. */
  callTimeoutMs: number;
  /** Deadline of one long-poll (a read or a wait); the call is repeated until the exec ends. */
  pollTimeoutMs: number;
  /** Bytes asked for by one ReadStdout/ReadStderr call. */
  readChunkBytes: number;
  /** Bytes sent by one WriteStdin call. */
  writeChunkBytes: number;
  /** Total stdout (and, separately, stderr) captured per exec. */
  maxOutputBytes: number;
  /** How long to keep draining output after killing a timed-out process. */
  killGraceMs: number;
}

export const DEFAULT_AGENT_LIMITS: AgentLimits = {
  callTimeoutMs: AGENT_CALL_TIMEOUT_MS,
  pollTimeoutMs: 30_000,
  readChunkBytes: AGENT_MAX_CHUNK_BYTES,
  writeChunkBytes: AGENT_MAX_CHUNK_BYTES,
  maxOutputBytes: 16 * 1024 * 1024,
  killGraceMs: AGENT_KILL_GRACE_MS,
};

export interface GuestDetails {
  kernelRelease: string;
  agentVersion: string;
}

/** A process to start in a container. */
export interface AgentProcessRequest {
  containerId: string;
  execId: string;
  args: string[];
  /** `KEY=VALUE` entries. */
  env: string[];
  cwd: string;
  /** Run on a pseudo-terminal (stdout and stderr merged). */
  tty?: boolean;
  /** The terminal's initial size. */
  window?: WindowSize;
  /** The guest SIGKILLs the process tree after this long; the host gives up a grace period later. */
  timeoutMs?: number;
}

export interface AgentExecRequest extends AgentProcessRequest {
  stdin?: Buffer;
}

export interface WindowSize {
  rows: number;
  cols: number;
}

/** How a process ended, validated. */
export interface ExitInfo {
  exitCode: number;
  /** The signal that killed it, 0 if it exited. */
  signal: number;
  oomKilled: boolean;
  timedOut: boolean;
}

export type OutputStream = 'stdout' | 'stderr';

export interface ExecOutput {
  exitCode: number;
  /** The signal that killed the process, 0 if it exited. */
  signal: number;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
  /** The container's memory limit was hit and the kernel's OOM killer killed the process. */
  oomKilled: boolean;
}

/** A container's resource use, from its cgroup (v2) in the guest. */
export interface ContainerStats {
  cpu: { usageUsec: number; userUsec: number; systemUsec: number };
  /** `maxBytes` is the peak; `limitBytes` 0 means no limit. */
  memory: { currentBytes: number; maxBytes: number; limitBytes: number; oomKills: number };
  /** `limit` 0 means no limit. */
  pids: { current: number; limit: number };
  io: { readBytes: number; writeBytes: number };
}

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
  | 'updateContainer'
  | 'pauseContainer'
  | 'resumeContainer'
  | 'setGuestDateTime'
  | 'close'
>;

type Callback<Res> = (error: ServiceError | null, response: Res) => void;
type UnaryMethod<Req, Res> = (request: Req, metadata: Metadata, options: Partial<CallOptions>, callback: Callback<Res>) => ClientUnaryCall;

const SIGKILL = 9;
const HEALTH_CHECK_TIMEOUT_MS = 2_000;
const HEALTH_RETRY_INTERVAL_MS = 200;
const VM_WATCH_INTERVAL_MS = 250;
const MAX_DETAIL_LENGTH = 256;

/**
 * The host side of the guest agent API. Treats the guest as hostile: every call has a deadline,
 * every reply is validated, and output is capped.
 */
export class AgentClient {
  private readonly channel: Channel;
  private readonly agent: AgentServiceClient;
  private readonly health: HealthClient;

  constructor(
    readonly transport: AgentTransport,
    private readonly limits: AgentLimits = DEFAULT_AGENT_LIMITS,
  ) {
    // One channel for both services: a virtio-serial chardev accepts a single connection.
    this.channel = new Channel(transport.grpcTarget, credentials.createInsecure(), {
      'grpc.max_receive_message_length': limits.readChunkBytes + 64 * 1024,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
      'grpc.enable_retries': 0,
    });
    this.agent = new AgentServiceClient(transport.grpcTarget, credentials.createInsecure(), { channelOverride: this.channel });
    this.health = new HealthClient(transport.grpcTarget, credentials.createInsecure(), { channelOverride: this.channel });
  }

  /**
   * Polls Health.Check until the agent is SERVING. `vmFailure` (why the VM cannot boot, or
   * undefined while it can) is watched throughout, so a VM that died or hit an emulation error
   * fails the boot at once instead of at the deadline.
   */
  async waitReady(bootTimeoutMs: number, vmFailure: () => Promise<string | undefined>): Promise<void> {
    const deadline = Date.now() + bootTimeoutMs;
    const vmGone = new AbortController();
    let failure: string | undefined;
    let probing: Promise<void> | undefined;
    const probe = () =>
      (probing ??= vmFailure()
        .then(
          (reason) => {
            if (reason === undefined) return;
            failure = reason;
            vmGone.abort();
          },
          () => undefined,
        )
        .finally(() => {
          probing = undefined;
        }));
    // A check waiting for the connection would otherwise only notice a dead VM at its own deadline.
    const watchdog = setInterval(() => void probe(), VM_WATCH_INTERVAL_MS);
    let lastError: unknown;
    try {
      while (Date.now() < deadline) {
        await probe();
        if (failure !== undefined) throw new RuntimeError(RuntimeErrorCode.VM_BOOT_FAILED, `${failure} before its agent answered`);
        const started = Date.now();
        try {
          const reply = await this.unary(this.health.check.bind(this.health), { service: '' }, 'Health.Check', {
            timeoutMs: Math.min(HEALTH_CHECK_TIMEOUT_MS, Math.max(1, deadline - Date.now())),
            // Queue behind the connection attempt instead of failing fast while QEMU or the guest is not up yet.
            waitForReady: true,
            signal: vmGone.signal,
          });
          if (reply.status === HealthCheckResponse_ServingStatus.SERVING) return;
          lastError = new Error(`health status ${reply.status}`);
        } catch (error) {
          lastError = error;
        }
        await sleep(Math.max(0, HEALTH_RETRY_INTERVAL_MS - (Date.now() - started)));
      }
    } finally {
      clearInterval(watchdog);
    }
    throw new RuntimeError(RuntimeErrorCode.VM_BOOT_FAILED, `the guest agent did not become ready within ${bootTimeoutMs} ms`, {
      cause: lastError,
    });
  }

  /** One Health.Check with a deadline: resolves if the agent answers SERVING in time. */
  async ping(timeoutMs: number): Promise<void> {
    const reply = await this.unary(this.health.check.bind(this.health), { service: '' }, 'Health.Check', { timeoutMs });
    if (reply.status !== HealthCheckResponse_ServingStatus.SERVING) {
      throw new RuntimeError(RuntimeErrorCode.AGENT_UNREACHABLE, `the guest agent answered health status ${reply.status}`);
    }
  }

  async guestDetails(): Promise<GuestDetails> {
    const reply = await this.unary(this.agent.getGuestDetails.bind(this.agent), {}, 'GetGuestDetails');
    return {
      kernelRelease: validDetail(reply.kernelRelease, 'kernel_release'),
      agentVersion: validDetail(reply.agentVersion, 'agent_version'),
    };
  }

  async createSandbox(request: CreateSandboxRequest): Promise<void> {
    await this.unary(this.agent.createSandbox.bind(this.agent), request, 'CreateSandbox');
  }

  /** Configures the guest NIC with this MAC (name, MTU, addresses); the reply is not trusted, so it is dropped. */
  async updateInterface(iface: Interface): Promise<void> {
    await this.unary(this.agent.updateInterface.bind(this.agent), { interface: iface }, 'UpdateInterface', { timeoutMs: this.networkCallTimeoutMs() });
  }

  /** Replaces the routes of the devices named in `routes`. */
  async updateRoutes(routes: Route[]): Promise<void> {
    await this.unary(this.agent.updateRoutes.bind(this.agent), { routes: { routes } }, 'UpdateRoutes', { timeoutMs: this.networkCallTimeoutMs() });
  }

  /** The guest runs a few `ip` commands per network call; a loaded TCG guest forks slowly. */
  private networkCallTimeoutMs(): number {
    return this.limits.callTimeoutMs * 3;
  }

  async destroySandbox(): Promise<void> {
    await this.unary(this.agent.destroySandbox.bind(this.agent), {}, 'DestroySandbox');
  }

  async createContainer(request: CreateContainerRequest): Promise<void> {
    await this.unary(this.agent.createContainer.bind(this.agent), request, 'CreateContainer');
  }

  async startContainer(containerId: string): Promise<void> {
    await this.unary(this.agent.startContainer.bind(this.agent), { containerId }, 'StartContainer');
  }

  async removeContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    await this.unary(this.agent.removeContainer.bind(this.agent), { containerId, timeoutSeconds }, 'RemoveContainer', {
      timeoutMs: this.limits.callTimeoutMs + timeoutSeconds * 1000,
    });
  }

  /**
   * Runs a process to completion: stdin is written then closed while stdout/stderr drain to EOF,
   * each captured up to `maxOutputBytes` (beyond that the process is killed and the exec fails).
   */
  async exec(req: AgentExecRequest): Promise<ExecOutput> {
    const { containerId, execId } = req;
    await this.startProcess(req);

    const abort = new AbortController();
    let hostTimedOut = false;
    let graceTimer: NodeJS.Timeout | undefined;
    // The guest enforces the deadline; the host's own timer only covers a guest that does not.
    const killTimer =
      req.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            hostTimedOut = true;
            this.signalProcess(containerId, execId, SIGKILL).catch(() => undefined);
            // A guest that keeps the streams open after SIGKILL gets no more of our time.
            graceTimer = setTimeout(() => abort.abort(), this.limits.killGraceMs);
          }, req.timeoutMs + this.limits.killGraceMs);

    try {
      const [stdout, stderr] = await Promise.all([
        this.capture(containerId, execId, 'stdout', abort.signal),
        this.capture(containerId, execId, 'stderr', abort.signal),
        this.feedStdin(containerId, execId, req.stdin ?? Buffer.alloc(0), abort.signal),
      ]);
      const exit = await this.waitExit(containerId, execId, abort.signal);
      return { ...exit, timedOut: exit.timedOut || hostTimedOut, stdout, stderr };
    } catch (error) {
      if (hostTimedOut && abort.signal.aborted) {
        throw new RuntimeError(RuntimeErrorCode.AGENT_PROTOCOL_VIOLATION, `exec ${execId} did not end within ${this.limits.killGraceMs} ms of SIGKILL`, {
          cause: error,
        });
      }
      throw error;
    } finally {
      abort.abort();
      clearTimeout(killTimer);
      clearTimeout(graceTimer);
    }
  }

  /** Starts a process; its output is read with {@link pumpOutput} and its end with {@link waitExit}. */
  async startProcess(req: AgentProcessRequest): Promise<void> {
    const window = req.window ? validWindow(req.window) : undefined;
    await this.unary(this.agent.execProcess.bind(this.agent), {
      containerId: req.containerId,
      execId: req.execId,
      process: { args: req.args, env: req.env, cwd: req.cwd, terminal: req.tty ?? false, uid: 0, gid: 0 },
      window,
      timeoutMs: req.timeoutMs ?? 0,
    }, 'ExecProcess');
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
      const reply = await this.poll(method, { containerId, execId, len: this.limits.readChunkBytes }, name, signal);
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
      const reply = await this.unary(this.agent.writeStdin.bind(this.agent), { containerId, execId, data: chunk }, 'WriteStdin', { signal });
      if (!Number.isInteger(reply.len) || reply.len === 0 || reply.len > chunk.length) {
        throw protocolViolation(`WriteStdin reported ${reply.len} of ${chunk.length} bytes written`);
      }
      offset += reply.len;
    }
  }

  async closeStdin(containerId: string, execId: string, signal?: AbortSignal): Promise<void> {
    await this.unary(this.agent.closeStdin.bind(this.agent), { containerId, execId }, 'CloseStdin', { signal });
  }

  async resizeTty(containerId: string, execId: string, window: WindowSize): Promise<void> {
    await this.unary(this.agent.ttyWinResize.bind(this.agent), { containerId, execId, window: validWindow(window) }, 'TtyWinResize');
  }

  async signalProcess(containerId: string, execId: string, signal: number): Promise<void> {
    if (!Number.isInteger(signal) || signal < 1 || signal > MAX_SIGNAL) {
      throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `signal must be 1-${MAX_SIGNAL}, got ${signal}`);
    }
    await this.unary(this.agent.signalProcess.bind(this.agent), { containerId, execId, signal }, 'SignalProcess');
  }

  /** Waits for the process to end (a long-poll, repeated until `signal` aborts). */
  async waitExit(containerId: string, execId: string, signal: AbortSignal): Promise<ExitInfo> {
    const reply = await this.poll(this.agent.waitProcess.bind(this.agent), { containerId, execId }, 'WaitProcess', signal);
    if (!Number.isInteger(reply.status) || reply.status < 0 || reply.status > MAX_EXIT_STATUS) {
      throw protocolViolation(`WaitProcess returned exit status ${reply.status}`);
    }
    if (!Number.isInteger(reply.signal) || reply.signal < 0 || reply.signal > MAX_SIGNAL) {
      throw protocolViolation(`WaitProcess returned signal ${reply.signal}`);
    }
    if (typeof reply.oomKilled !== 'boolean' || typeof reply.timedOut !== 'boolean') {
      throw protocolViolation('WaitProcess returned a malformed reply');
    }
    return { exitCode: reply.status, signal: reply.signal, oomKilled: reply.oomKilled, timedOut: reply.timedOut };
  }

  /** The container's cgroup counters, checked for plausibility. */
  async stats(containerId: string): Promise<ContainerStats> {
    const reply = await this.unary(this.agent.statsContainer.bind(this.agent), { containerId }, 'StatsContainer');
    return validStats(reply);
  }

  async updateContainer(containerId: string, resources: LinuxResources): Promise<void> {
    await this.unary(this.agent.updateContainer.bind(this.agent), { containerId, resources }, 'UpdateContainer');
  }

  async pauseContainer(containerId: string): Promise<void> {
    await this.unary(this.agent.pauseContainer.bind(this.agent), { containerId }, 'PauseContainer');
  }

  async resumeContainer(containerId: string): Promise<void> {
    await this.unary(this.agent.resumeContainer.bind(this.agent), { containerId }, 'ResumeContainer');
  }

  /** Sets the guest clock to the host's (e.g. after the VM was paused). */
  async setGuestDateTime(now: Date = new Date()): Promise<void> {
    const ms = now.getTime();
    await this.unary(this.agent.setGuestDateTime.bind(this.agent), { sec: Math.floor(ms / 1000), usec: (ms % 1000) * 1000 }, 'SetGuestDateTime');
  }

  /** Copies a file into the guest in chunks of `writeChunkBytes`. */
  async copyFile(path: string, data: Buffer, opts: { fileMode?: number; dirMode?: number; uid?: number; gid?: number } = {}): Promise<void> {
    let offset = 0;
    do {
      const chunk = data.subarray(offset, offset + this.limits.writeChunkBytes);
      await this.unary(this.agent.copyFile.bind(this.agent), {
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
    const reply = await this.poll(this.agent.getOomEvent.bind(this.agent), {}, 'GetOOMEvent', signal);
    return validDetail(reply.containerId, 'container_id', 'GetOOMEvent');
  }

  /** The agent's version and API package, as Health.Version reports them. */
  async version(): Promise<{ grpcVersion: string; agentVersion: string }> {
    const reply = await this.unary(this.health.version.bind(this.health), { service: '' }, 'Health.Version');
    return {
      grpcVersion: validDetail(reply.grpcVersion, 'grpc_version', 'Health.Version'),
      agentVersion: validDetail(reply.agentVersion, 'agent_version', 'Health.Version'),
    };
  }

  close(): void {
    this.agent.close();
    this.health.close();
    this.channel.close();
    this.transport.close();
  }

  /** Collects one stream, killing the process when it outgrows `maxOutputBytes`. */
  private async capture(containerId: string, execId: string, stream: OutputStream, signal: AbortSignal): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let total = 0;
    await this.pumpOutput(containerId, execId, stream, (chunk) => {
      total += chunk.length;
      if (total > this.limits.maxOutputBytes) {
        this.signalProcess(containerId, execId, SIGKILL).catch(() => undefined);
        throw new RuntimeError(
          RuntimeErrorCode.EXEC_OUTPUT_LIMIT_EXCEEDED,
          `exec ${execId}: ${stream} exceeded ${this.limits.maxOutputBytes} bytes; the process was killed`,
        );
      }
      chunks.push(chunk);
    }, signal);
    return Buffer.concat(chunks);
  }

  private async feedStdin(containerId: string, execId: string, stdin: Buffer, signal: AbortSignal): Promise<void> {
    try {
      await this.writeStdin(containerId, execId, stdin, signal);
      await this.closeStdin(containerId, execId, signal);
    } catch (error) {
      // A process that exits without reading all its input is normal (EPIPE for a shell pipe);
      // only a lying guest is an error here.
      if (isProtocolViolation(error)) throw error;
    }
  }

  /** A long-poll: repeats the call while it only hit its own deadline, until `signal` aborts. */
  private async poll<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, name: string, signal: AbortSignal): Promise<Res> {
    for (;;) {
      try {
        return await this.unary(method, request, name, { timeoutMs: this.limits.pollTimeoutMs, signal });
      } catch (error) {
        const grpcCode = error instanceof RuntimeError ? error.context.grpcCode : undefined;
        if (grpcCode !== GrpcStatus.DEADLINE_EXCEEDED || signal.aborted) throw error;
      }
    }
  }

  private unary<Req, Res>(
    method: UnaryMethod<Req, Res>,
    request: Req,
    name: string,
    opts: { timeoutMs?: number; waitForReady?: boolean; signal?: AbortSignal } = {},
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      if (opts.signal?.aborted) return reject(new RuntimeError(RuntimeErrorCode.AGENT_CALL_FAILED, `${name} aborted`));
      const deadline = Date.now() + (opts.timeoutMs ?? this.limits.callTimeoutMs);
      // grpc-js carries wait-for-ready on the metadata, not the call options.
      const metadata = new Metadata({ waitForReady: opts.waitForReady ?? false });
      const call = method(request, metadata, { deadline }, (error, response) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (error) {
          reject(new RuntimeError(RuntimeErrorCode.AGENT_CALL_FAILED, `${name}: ${error.details || error.message}`, {
            cause: error,
            context: { grpcCode: error.code },
          }));
        } else if (response === undefined || response === null) {
          reject(protocolViolation(`${name} returned an empty reply`));
        } else {
          resolve(response);
        }
      });
      const onAbort = () => call.cancel();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function protocolViolation(message: string): RuntimeError {
  return new RuntimeError(RuntimeErrorCode.AGENT_PROTOCOL_VIOLATION, message);
}

/** The guest broke the protocol (lied, stalled past the grace): it cannot be trusted with another call. */
export function isProtocolViolation(error: unknown): error is RuntimeError {
  return error instanceof RuntimeError && error.code === RuntimeErrorCode.AGENT_PROTOCOL_VIOLATION;
}

/** Strings from the guest end up in logs and the UI: keep them short and printable. */
function validDetail(value: unknown, field: string, method = 'GetGuestDetails'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_DETAIL_LENGTH || !/^[\x20-\x7e]+$/.test(value)) {
    throw protocolViolation(`${method} returned an invalid ${field}`);
  }
  return value;
}

function validWindow(window: WindowSize): WindowSize {
  const { rows, cols } = window;
  if (![rows, cols].every((n) => Number.isInteger(n) && n >= 1 && n <= MAX_WINDOW_DIMENSION)) {
    throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `terminal size must be 1-${MAX_WINDOW_DIMENSION} rows and columns, got ${rows}x${cols}`);
  }
  return { rows, cols };
}

/** Every counter present, a non-negative integer, and the groups the API reports. */
export function validStats(reply: StatsContainerResponse): ContainerStats {
  const counter = (value: unknown, field: string): number => {
    // A counter a guest could honestly report stays far below 2^53; anything above is a lie.
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw protocolViolation(`StatsContainer returned an invalid ${field}`);
    }
    return value;
  };
  const { cpu, memory, pids, io } = reply;
  if (!cpu || !memory || !pids || !io) throw protocolViolation('StatsContainer returned an incomplete reply');
  return {
    cpu: { usageUsec: counter(cpu.usageUsec, 'cpu.usage_usec'), userUsec: counter(cpu.userUsec, 'cpu.user_usec'), systemUsec: counter(cpu.systemUsec, 'cpu.system_usec') },
    memory: {
      currentBytes: counter(memory.currentBytes, 'memory.current_bytes'),
      maxBytes: counter(memory.maxBytes, 'memory.max_bytes'),
      limitBytes: counter(memory.limitBytes, 'memory.limit_bytes'),
      oomKills: counter(memory.oomKills, 'memory.oom_kills'),
    },
    pids: { current: counter(pids.current, 'pids.current'), limit: counter(pids.limit, 'pids.limit') },
    io: { readBytes: counter(io.readBytes, 'io.read_bytes'), writeBytes: counter(io.writeBytes, 'io.write_bytes') },
  };
}
