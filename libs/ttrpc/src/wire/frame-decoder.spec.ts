import { describe, expect, it } from '@jest/globals';
import { encodeFrame, HEADER_LENGTH, MAX_MESSAGE_LENGTH, MessageType } from './frame';
import { FrameDecoder, type DecodedFrame } from './frame-decoder';

const frameA = encodeFrame(1, MessageType.Request, Buffer.from('first payload'));
const frameB = encodeFrame(3, MessageType.Response, Buffer.from('second'));

function decodeAll(chunks: Buffer[]): DecodedFrame[] {
  const decoder = new FrameDecoder();
  return chunks.flatMap((chunk) => decoder.push(chunk));
}

function messages(frames: DecodedFrame[]): Array<[number, number, string]> {
  return frames.map((frame) => {
    if (frame.kind !== 'message') throw new Error(`unexpected ${frame.kind}`);
    return [frame.header.streamId, frame.header.type, frame.payload.toString()];
  });
}

/** A header that announces `length` bytes of payload, which are not part of it. */
function headerOnly(streamId: number, length: number): Buffer {
  const header = encodeFrame(streamId, MessageType.Request, Buffer.alloc(0));
  header.writeUInt32BE(length, 0);
  return header;
}

describe('FrameDecoder', () => {
  it('reads the header as ttrpc-go writes it: big-endian length and stream id, type, flags', () => {
    const wire = Buffer.from([0, 0, 0, 2, 0, 0, 1, 5, 2, 0, 0xaa, 0xbb]);
    expect(decodeAll([wire])).toEqual([{ kind: 'message', header: { length: 2, streamId: 261, type: 2, flags: 0 }, payload: Buffer.from([0xaa, 0xbb]) }]);
    expect(encodeFrame(261, MessageType.Response, Buffer.from([0xaa, 0xbb]))).toEqual(wire);
  });

  it('waits for a header split at any byte', () => {
    for (let cut = 1; cut < HEADER_LENGTH; cut++) {
      const decoder = new FrameDecoder();
      expect(decoder.push(frameA.subarray(0, cut))).toEqual([]);
      expect(decoder.buffered).toBe(cut);
      expect(messages(decoder.push(frameA.subarray(cut)))).toEqual([[1, MessageType.Request, 'first payload']]);
      expect(decoder.buffered).toBe(0);
    }
  });

  it('joins a payload split over several chunks', () => {
    const chunks = [frameA.subarray(0, 12), frameA.subarray(12, 15), frameA.subarray(15)];
    expect(messages(decodeAll(chunks))).toEqual([[1, MessageType.Request, 'first payload']]);
  });

  it('returns every message of one chunk in order and keeps the partial one that follows', () => {
    const decoder = new FrameDecoder();
    const chunk = Buffer.concat([frameA, frameB, frameA.subarray(0, 4)]);
    expect(messages(decoder.push(chunk))).toEqual([
      [1, MessageType.Request, 'first payload'],
      [3, MessageType.Response, 'second'],
    ]);
    expect(decoder.buffered).toBe(4);
    expect(messages(decoder.push(frameA.subarray(4)))).toEqual([[1, MessageType.Request, 'first payload']]);
  });

  it('decodes a stream fed one byte at a time', () => {
    const stream = Buffer.concat([frameA, frameB]);
    const bytes = [...stream].map((byte) => Buffer.from([byte]));
    expect(messages(decodeAll(bytes))).toEqual([
      [1, MessageType.Request, 'first payload'],
      [3, MessageType.Response, 'second'],
    ]);
  });

  it('reads a message with an empty payload', () => {
    expect(messages(decodeAll([encodeFrame(7, MessageType.Request, Buffer.alloc(0))]))).toEqual([[7, MessageType.Request, '']]);
  });

  it('accepts a payload of exactly the maximum size', () => {
    const [frame] = decodeAll([encodeFrame(1, MessageType.Request, Buffer.alloc(MAX_MESSAGE_LENGTH, 1))]);
    expect(frame.kind).toBe('message');
    expect(frame.kind === 'message' && frame.payload.length).toBe(MAX_MESSAGE_LENGTH);
  });

  it('skips an oversized payload without holding it, reports it once skipped, and reads on', () => {
    const decoder = new FrameDecoder();
    const length = MAX_MESSAGE_LENGTH + 1;
    expect(decoder.push(headerOnly(9, length))).toEqual([]);
    // The skipped bytes look like frames; none of them may be read as one.
    const filler = Buffer.concat(Array.from({ length: Math.ceil(length / frameA.length) }, () => frameA)).subarray(0, length);
    for (let offset = 0; offset < length - 1000; offset += 64 * 1024) {
      expect(decoder.push(filler.subarray(offset, Math.min(offset + 64 * 1024, length - 1000)))).toEqual([]);
      expect(decoder.buffered).toBe(0);
    }
    const frames = decoder.push(Buffer.concat([filler.subarray(length - 1000), frameB]));
    expect(frames[0]).toEqual({ kind: 'oversize', header: { length, streamId: 9, type: MessageType.Request, flags: 0 } });
    expect(messages(frames.slice(1))).toEqual([[3, MessageType.Response, 'second']]);
  });

  it('never buffers garbage that announces a huge payload', () => {
    const decoder = new FrameDecoder();
    const garbage = Buffer.alloc(8 * 1024 * 1024, 0xff);
    // 0xffffffff bytes announced: the decoder only counts them down.
    expect(decoder.push(garbage)).toEqual([]);
    expect(decoder.buffered).toBe(0);
  });

  it('passes unknown message types and flags through for the layer above to judge', () => {
    const frame = encodeFrame(5, MessageType.Request, Buffer.from('x'));
    frame.writeUInt8(3, 8);
    frame.writeUInt8(0x80, 9);
    expect(decodeAll([frame])).toEqual([{ kind: 'message', header: { length: 1, streamId: 5, type: 3, flags: 0x80 }, payload: Buffer.from('x') }]);
  });
});
