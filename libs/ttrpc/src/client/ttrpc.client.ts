import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { TtrpcChannel } from '../channel/ttrpc.channel';
import { TtrpcError } from '../errors/ttrpc.error';
import { Request, Response } from '../generated/ttrpc';
import { MAX_MESSAGE_LENGTH, MessageType, messageTooLarge, type FrameHeader } from '../wire/frame';
import { toKeyValues, type Metadata } from '../wire/metadata';
import { asBuffer } from '../wire/payload';

/** Options of one call. */
export interface CallOptions {
  /**
   * How long to wait, in ms (at most 2^31 - 1): the server is told the deadline (`timeout_nano`)
   * and the call rejects with DEADLINE_EXCEEDED when it passes. Without it a call waits for ever.
   */
  timeoutMs?: number;
  /** Metadata sent with the request. */
  metadata?: Metadata;
}

interface PendingCall {
  resolve: (payload: Buffer) => void;
  reject: (error: TtrpcError) => void;
  timer: NodeJS.Timeout | undefined;
}

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * A ttrpc client over one connection. Calls run concurrently, each on its own stream id (odd
 * and increasing, as ttrpc requires of a client), and are answered in any order. A failed call
 * rejects with a TtrpcError carrying the server's status code and message; when the connection
 * is lost or closed, every call still waiting rejects with UNAVAILABLE, and so does every later one.
 */
export class TtrpcClient {
  private readonly channel: TtrpcChannel;
  private readonly pending = new Map<number, PendingCall>();
  private nextStreamId = 1;
  private closedError: TtrpcError | undefined;

  /** A client over an open connection to a ttrpc server. */
  constructor(stream: Duplex) {
    this.channel = new TtrpcChannel(stream, {
      message: (header, payload) => this.receive(header, payload),
      oversize: (header) => this.take(header.streamId)?.reject(messageTooLarge(header.length)),
      closed: (cause) => this.fail(new TtrpcError('UNAVAILABLE', 'ttrpc: closed', { cause })),
    });
  }

  /** Connects to the ttrpc server listening on the unix socket `path`; UNAVAILABLE when nothing answers there. */
  static connect(path: string): Promise<TtrpcClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('error', (cause) => reject(new TtrpcError('UNAVAILABLE', `connect to ${path}: ${cause.message}`, { cause })));
      socket.once('connect', () => resolve(new TtrpcClient(socket)));
    });
  }

  /** Calls `service`/`method` (e.g. `containerd.task.v2.Task`, `Create`) with an encoded request; resolves to the encoded response. */
  call(service: string, method: string, payload: Uint8Array, { timeoutMs, metadata = {} }: CallOptions = {}): Promise<Buffer> {
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    if (timeoutMs !== undefined && !(timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
      return Promise.reject(new TtrpcError('INVALID_ARGUMENT', `timeoutMs must be above 0 and at most ${MAX_TIMEOUT_MS}, not ${timeoutMs}`));
    }
    const request = Request.encode({
      service,
      method,
      payload: asBuffer(payload),
      timeoutNano: timeoutMs === undefined ? 0n : BigInt(Math.ceil(timeoutMs * 1e6)),
      metadata: toKeyValues(metadata),
    }).finish();
    // The server would drop it unread and answer RESOURCE_EXHAUSTED: refuse it here instead.
    if (request.length > MAX_MESSAGE_LENGTH) return Promise.reject(messageTooLarge(request.length));

    const streamId = this.nextStreamId;
    this.nextStreamId += 2;
    return new Promise<Buffer>((resolve, reject) => {
      const timer =
        timeoutMs === undefined ? undefined : setTimeout(() => this.take(streamId)?.reject(new TtrpcError('DEADLINE_EXCEEDED', 'context deadline exceeded')), timeoutMs);
      this.pending.set(streamId, { resolve, reject, timer });
      this.channel.send(streamId, MessageType.Request, request);
    });
  }

  /** Closes the connection; calls still waiting reject with UNAVAILABLE. */
  close(): void {
    this.fail(new TtrpcError('UNAVAILABLE', 'ttrpc: client closed'));
    this.channel.close();
  }

  private receive(header: FrameHeader, payload: Buffer): void {
    // No call waits on that stream: the answer came after the call's timeout, or is not ours.
    const call = this.take(header.streamId);
    if (call === undefined) return;
    if (header.type !== MessageType.Response) {
      call.reject(new TtrpcError('INTERNAL', `unknown message type ${header.type} received`));
      return;
    }
    let response: Response;
    try {
      response = Response.decode(payload);
    } catch (cause) {
      call.reject(new TtrpcError('INTERNAL', `unmarshal response error: ${(cause as Error).message}`, { cause }));
      return;
    }
    if (response.status !== undefined && response.status.code !== 0) call.reject(TtrpcError.fromStatus(response.status));
    else call.resolve(response.payload);
  }

  /** Removes the call waiting on `streamId`, if any, and stops its timer. */
  private take(streamId: number): PendingCall | undefined {
    const call = this.pending.get(streamId);
    this.pending.delete(streamId);
    clearTimeout(call?.timer);
    return call;
  }

  private fail(error: TtrpcError): void {
    if (this.closedError !== undefined) return;
    this.closedError = error;
    for (const streamId of [...this.pending.keys()]) this.take(streamId)?.reject(error);
  }
}
