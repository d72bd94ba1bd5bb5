import { decodeHeader, HEADER_LENGTH, MAX_MESSAGE_LENGTH, type FrameHeader } from './frame';

/** What the decoder makes of the bytes: a whole message, or a message too large to keep. */
export type DecodedFrame =
  | { kind: 'message'; header: FrameHeader; payload: Buffer }
  /** A payload over MAX_MESSAGE_LENGTH: its bytes were skipped as they came, and reported once all were. */
  | { kind: 'oversize'; header: FrameHeader };

/**
 * Cuts a byte stream into ttrpc messages, whatever the chunking: a header or payload split over
 * chunks, several messages in one chunk. Like ttrpc-go, an oversized message is not an error of
 * the connection: its payload is skipped (never held in memory) and then reported, so the
 * receiver can answer on its stream and read on. Every header is believed: ttrpc has no magic
 * number or checksum, so garbage reads as headers and payloads, and the layer above rejects what
 * does not decode.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private header: FrameHeader | undefined;
  private toSkip = 0;

  /** Bytes held while waiting for the rest of a header or payload. */
  get buffered(): number {
    return this.bufferedBytes;
  }

  /** Takes the next chunk of the stream and returns the messages it completes, in order. */
  push(chunk: Buffer): DecodedFrame[] {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    const frames: DecodedFrame[] = [];
    for (;;) {
      if (this.header === undefined) {
        if (this.bufferedBytes < HEADER_LENGTH) return frames;
        this.header = decodeHeader(this.take(HEADER_LENGTH));
        this.toSkip = this.header.length > MAX_MESSAGE_LENGTH ? this.header.length : 0;
      }
      const header = this.header;
      if (this.toSkip > 0) {
        this.toSkip -= this.skip(this.toSkip);
        if (this.toSkip > 0) return frames;
        frames.push({ kind: 'oversize', header });
      } else {
        if (this.bufferedBytes < header.length) return frames;
        frames.push({ kind: 'message', header, payload: this.take(header.length) });
      }
      this.header = undefined;
    }
  }

  /** Removes the first `length` bytes (all buffered) and returns them. */
  private take(length: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.bufferedBytes);
    this.chunks = length < all.length ? [all.subarray(length)] : [];
    this.bufferedBytes -= length;
    return all.subarray(0, length);
  }

  /** Drops up to `length` buffered bytes; returns how many it dropped. */
  private skip(length: number): number {
    const dropped = Math.min(length, this.bufferedBytes);
    this.take(dropped);
    return dropped;
  }
}
