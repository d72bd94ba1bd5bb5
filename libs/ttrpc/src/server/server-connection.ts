import type { Duplex } from 'node:stream';
import { TtrpcChannel } from '../channel/ttrpc.channel';
import { OK_STATUS, statusOf, TtrpcError } from '../errors/ttrpc.error';
import type { Status } from '../generated/google/rpc/status';
import { Request, Response } from '../generated/ttrpc';
import { MAX_MESSAGE_LENGTH, MessageType, messageTooLarge, type FrameHeader } from '../wire/frame';
import { asBuffer } from '../wire/payload';
import { openRequestContext } from './request-context';
import type { ServiceRegistry } from './service-registry';

/**
 * The server's side of one connection (ttrpc-go's `serverConn`): runs each request's handler
 * concurrently and answers on the request's stream id in whatever order they finish.
 */
export class ServerConnection {
  private readonly channel: TtrpcChannel;
  private readonly lifetime = new AbortController();

  constructor(
    stream: Duplex,
    private readonly registry: ServiceRegistry,
    onClosed: () => void,
  ) {
    this.channel = new TtrpcChannel(stream, {
      message: (header, payload) => this.receive(header, payload),
      oversize: (header) => this.reply(header.streamId, statusOf(messageTooLarge(header.length))),
      closed: () => {
        this.cancelHandlers();
        onClosed();
      },
    });
  }

  /** Closes the connection; running handlers see their signal abort at once and their answers are dropped. */
  close(): void {
    this.cancelHandlers();
    this.channel.close();
  }

  private cancelHandlers(): void {
    this.lifetime.abort(new TtrpcError('CANCELLED', 'ttrpc: connection closed'));
  }

  private receive(header: FrameHeader, payload: Buffer): void {
    // ttrpc-go ignores other types, for compatibility with later versions of the protocol.
    if (header.type !== MessageType.Request) return;
    let request: Request;
    try {
      request = Request.decode(payload);
    } catch (error) {
      this.reply(header.streamId, statusOf(new TtrpcError('INVALID_ARGUMENT', `unmarshal request error: ${(error as Error).message}`)));
      return;
    }
    if (header.streamId % 2 !== 1) {
      this.reply(header.streamId, statusOf(new TtrpcError('INVALID_ARGUMENT', 'StreamID must be odd for client initiated streams')));
      return;
    }
    void this.serve(header.streamId, request);
  }

  private async serve(streamId: number, request: Request): Promise<void> {
    const { context, release } = openRequestContext(request, this.lifetime.signal);
    try {
      const handler = this.registry.resolve(request.service, request.method);
      this.reply(streamId, OK_STATUS, await handler(request.payload, context));
    } catch (error) {
      this.reply(streamId, statusOf(error));
    } finally {
      release();
    }
  }

  private reply(streamId: number, status: Status, payload: Uint8Array = Buffer.alloc(0)): void {
    let response = Response.encode({ status, payload: asBuffer(payload) }).finish();
    // The client would drop an oversized answer and report RESOURCE_EXHAUSTED: say so without sending it.
    if (response.length > MAX_MESSAGE_LENGTH) response = Response.encode({ status: statusOf(messageTooLarge(response.length)), payload: Buffer.alloc(0) }).finish();
    this.channel.send(streamId, MessageType.Response, response);
  }
}
