import {
  Channel,
  credentials,
  Metadata,
  status as GrpcStatus,
  type CallOptions,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { AgentServiceClient, HealthClient } from '@moat/proto';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { AgentLimits } from './agent.types';
import { protocolViolation } from './agent.validation';

type Callback<Res> = (error: ServiceError | null, response: Res) => void;
type UnaryMethod<Req, Res> = (request: Req, metadata: Metadata, options: Partial<CallOptions>, callback: Callback<Res>) => ClientUnaryCall;

/** How one unary call runs: its deadline (the channel's call timeout when absent), whether it waits for the connection, and what aborts it. */
export interface UnaryOptions {
  timeoutMs?: number;
  waitForReady?: boolean;
  signal?: AbortSignal;
}

/**
 * The gRPC connection to one guest agent: the AgentService and Health clients over one channel,
 * every call with a deadline and every reply present.
 */
export class AgentChannel {
  readonly agent: AgentServiceClient;
  readonly health: HealthClient;
  private readonly channel: Channel;

  constructor(
    grpcTarget: string,
    private readonly limits: Pick<AgentLimits, 'callTimeoutMs' | 'pollTimeoutMs' | 'readChunkBytes'>,
  ) {
    // One channel for both services: a virtio-serial chardev accepts a single connection.
    this.channel = new Channel(grpcTarget, credentials.createInsecure(), {
      'grpc.max_receive_message_length': limits.readChunkBytes + 64 * 1024,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
      'grpc.enable_retries': 0,
    });
    this.agent = new AgentServiceClient(grpcTarget, credentials.createInsecure(), { channelOverride: this.channel });
    this.health = new HealthClient(grpcTarget, credentials.createInsecure(), { channelOverride: this.channel });
  }

  /** A long-poll: repeats the call while it only hit its own deadline, until `signal` aborts. */
  async poll<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, name: string, signal: AbortSignal): Promise<Res> {
    for (;;) {
      try {
        return await this.unary(method, request, name, { timeoutMs: this.limits.pollTimeoutMs, signal });
      } catch (error) {
        const grpcCode = error instanceof RuntimeError ? error.context.grpcCode : undefined;
        if (grpcCode !== GrpcStatus.DEADLINE_EXCEEDED || signal.aborted) throw error;
      }
    }
  }

  unary<Req, Res>(
    method: UnaryMethod<Req, Res>,
    request: Req,
    name: string,
    opts: UnaryOptions = {},
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
            context: { grpcCode: error.code, guestCode: guestErrorCode(error) },
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

  close(): void {
    this.agent.close();
    this.health.close();
    this.channel.close();
  }
}

/** The guest agent's own code for a failure (its `moat-error-code` trailer), when it sent a plausible one. */
function guestErrorCode(error: ServiceError): string | undefined {
  const value = error.metadata?.get('moat-error-code')[0];
  return typeof value === 'string' && /^[A-Z_]{1,64}$/.test(value) ? value : undefined;
}
