import type { Duplex } from 'node:stream';
import { encodeFrame, type FrameHeader, type MessageType } from '../wire/frame';
import { FrameDecoder } from '../wire/frame-decoder';

/** What a channel reports; each is called in stream order. */
export interface ChannelHandlers {
  /** A whole message arrived. */
  message(header: FrameHeader, payload: Buffer): void;
  /** A message over MAX_MESSAGE_LENGTH arrived and its payload was dropped. */
  oversize(header: FrameHeader): void;
  /** The connection is gone (the peer closed it, it failed, or `close()` was called); called once. */
  closed(cause: Error | undefined): void;
}

/**
 * One ttrpc connection as messages (ttrpc-go's `channel`): frames what it sends, decodes what it
 * receives. ttrpc has no half-close: once the peer stops sending, the connection is closed.
 */
export class TtrpcChannel {
  private readonly decoder = new FrameDecoder();

  constructor(
    private readonly stream: Duplex,
    handlers: ChannelHandlers,
  ) {
    let failure: Error | undefined;
    stream.on('data', (chunk: Buffer) => {
      for (const frame of this.decoder.push(chunk)) {
        if (frame.kind === 'message') handlers.message(frame.header, frame.payload);
        else handlers.oversize(frame.header);
      }
    });
    stream.on('end', () => stream.destroy());
    stream.on('error', (error) => (failure = error));
    stream.on('close', () => handlers.closed(failure));
  }

  /** Sends one message; a no-op once the connection is closed (its `closed` handler says so). */
  send(streamId: number, type: MessageType, payload: Uint8Array): void {
    if (this.stream.writable) this.stream.write(encodeFrame(streamId, type, payload));
  }

  /** Closes the connection at once; anything not yet written is dropped. */
  close(): void {
    this.stream.destroy();
  }
}
