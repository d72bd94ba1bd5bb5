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
  AgentServiceClient,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  type CreateContainerRequest,
  type CreateSandboxRequest,
  type Interface,
  type ReadStreamResponse,
  type Route,
} from '@moat/proto';
import { RuntimeError, RuntimeErrorCode } from '../errors';
import { sleep } from '../host/process.adapter';
import type { ExecOutput } from '../sandbox/sandbox.types';
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
  callTimeoutMs: 10_000,
  pollTimeoutMs: 30_000,
  readChunkBytes: 1024 * 1024,
  writeChunkBytes: 256 * 1024,
  maxOutputBytes: 16 * 1024 * 1024,
  killGraceMs: 5_000,
};

export interface GuestDetails {
  kernelRelease: string;
  agentVersion: string;
}

export interface AgentExecRequest {
  containerId: string;
  execId: string;
  args: string[];
  /** `KEY=VALUE` entries. */
  env: string[];
  cwd: string;
  stdin?: Buffer;
  timeoutMs?: number;
}

/** What the sandbox lifecycle needs from a guest agent connection; lets tests substitute a fake. */
export type AgentApi = Pick<
  AgentClient,
  | 'waitReady'
  | 'guestDetails'
  | 'createSandbox'
  | 'destroySandbox'
  | 'createContainer'
  | 'startContainer'
  | 'removeContainer'
  | 'exec'
  | 'updateInterface'
  | 'updateRoutes'
  | 'close'
>;

type Callback<Res> = (error: ServiceError | null, response: Res) => void;
type UnaryMethod<Req, Res> = (request: Req, metadata: Metadata, options: Partial<CallOptions>, callback: Callback<Res>) => ClientUnaryCall;

const SIGKILL = 9;
const HEALTH_CHECK_TIMEOUT_MS = 2_000;
const HEALTH_RETRY_INTERVAL_MS = 200;
const VM_WATCH_INTERVAL_MS = 250;
/** Exit statuses are 0–255 (128 + signal for a signalled process); anything else is a lie. */
const MAX_EXIT_STATUS = 255;
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

  /** Runs a process in a container: stdin is written then closed while stdout/stderr drain to EOF. */
  async exec(req: AgentExecRequest): Promise<ExecOutput> {
    const { containerId, execId } = req;
    await this.unary(this.agent.execProcess.bind(this.agent), {
      containerId,
      execId,
      process: { args: req.args, env: req.env, cwd: req.cwd, terminal: false, uid: 0, gid: 0 },
    }, 'ExecProcess');

    const abort = new AbortController();
    let timedOut = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const killTimer =
      req.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            this.kill(containerId, execId);
            // A guest that keeps the streams open after SIGKILL gets no more of our time.
            graceTimer = setTimeout(() => abort.abort(), this.limits.killGraceMs);
          }, req.timeoutMs);

    try {
      const [stdout, stderr] = await Promise.all([
        this.drain(this.agent.readStdout.bind(this.agent), 'ReadStdout', containerId, execId, abort),
        this.drain(this.agent.readStderr.bind(this.agent), 'ReadStderr', containerId, execId, abort),
        this.feedStdin(containerId, execId, req.stdin ?? Buffer.alloc(0), abort.signal),
      ]);
      const exitCode = await this.waitProcess(containerId, execId, abort.signal);
      return { exitCode, stdout, stderr, timedOut };
    } catch (error) {
      if (timedOut && abort.signal.aborted) {
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

  close(): void {
    this.agent.close();
    this.health.close();
    this.channel.close();
  }

  private kill(containerId: string, execId: string): void {
    this.unary(this.agent.signalProcess.bind(this.agent), { containerId, execId, signal: SIGKILL }, 'SignalProcess').catch(() => {
      // The process may already be gone; the drain below ends either way.
    });
  }

  private async drain(
    method: UnaryMethod<{ containerId: string; execId: string; len: number }, ReadStreamResponse>,
    name: string,
    containerId: string,
    execId: string,
    abort: AbortController,
  ): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const reply = await this.poll(method, { containerId, execId, len: this.limits.readChunkBytes }, name, abort.signal);
      const data = reply.data;
      if (!(data instanceof Uint8Array)) throw protocolViolation(`${name} returned no data field`);
      if (data.length === 0) return Buffer.concat(chunks);
      if (data.length > this.limits.readChunkBytes) throw protocolViolation(`${name} returned ${data.length} bytes, more than the ${this.limits.readChunkBytes} asked for`);
      total += data.length;
      if (total > this.limits.maxOutputBytes) {
        this.kill(containerId, execId);
        throw new RuntimeError(
          RuntimeErrorCode.EXEC_OUTPUT_LIMIT_EXCEEDED,
          `exec ${execId}: ${name === 'ReadStdout' ? 'stdout' : 'stderr'} exceeded ${this.limits.maxOutputBytes} bytes; the process was killed`,
        );
      }
      chunks.push(Buffer.from(data));
    }
  }

  private async feedStdin(containerId: string, execId: string, stdin: Buffer, signal: AbortSignal): Promise<void> {
    try {
      for (let offset = 0; offset < stdin.length; ) {
        const data = stdin.subarray(offset, offset + this.limits.writeChunkBytes);
        const reply = await this.unary(this.agent.writeStdin.bind(this.agent), { containerId, execId, data }, 'WriteStdin', { signal });
        if (reply.len === 0 || reply.len > data.length) throw protocolViolation(`WriteStdin reported ${reply.len} of ${data.length} bytes written`);
        offset += reply.len;
      }
      await this.unary(this.agent.closeStdin.bind(this.agent), { containerId, execId }, 'CloseStdin', { signal });
    } catch (error) {
      // A process that exits without reading all its input is normal (EPIPE for a shell pipe);
      // only a lying guest is an error here.
      if (error instanceof RuntimeError && error.code === RuntimeErrorCode.AGENT_PROTOCOL_VIOLATION) throw error;
    }
  }

  private async waitProcess(containerId: string, execId: string, signal: AbortSignal): Promise<number> {
    const reply = await this.poll(this.agent.waitProcess.bind(this.agent), { containerId, execId }, 'WaitProcess', signal);
    if (!Number.isInteger(reply.status) || reply.status < 0 || reply.status > MAX_EXIT_STATUS) {
      throw protocolViolation(`WaitProcess returned exit status ${reply.status}`);
    }
    return reply.status;
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

/** Strings from the guest end up in logs and the UI: keep them short and printable. */
function validDetail(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_DETAIL_LENGTH || !/^[\x20-\x7e]+$/.test(value)) {
    throw protocolViolation(`GetGuestDetails returned an invalid ${field}`);
  }
  return value;
}
