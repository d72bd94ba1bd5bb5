import { MoveError, MoveErrorCode } from './move.errors';

/**
 * The source's bytes on the channel are framed: each chunk after its length (4 bytes, big
 * endian), then an empty frame once the stream is complete. A TLS peer that goes away without
 * a close_notify looks to Node.js like one that ended cleanly, and tar writes a well-formed
 * archive even when it failed to read a file; without the closing frame the target could take
 * in a truncated sandbox.
 */
const HEADER_BYTES = 4;
/** Larger chunks are cut: a frame's length must fit its header. */
const MAX_FRAME_BYTES = 0xffff_ffff;
const END_FRAME = Buffer.alloc(HEADER_BYTES);

/** Frames `source`, and closes with the end frame only once `complete` resolves (a rejection ends the frames without it). */
export async function* framed(source: AsyncIterable<Buffer>, complete: Promise<unknown>): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    for (let at = 0; at < chunk.length; at += MAX_FRAME_BYTES) {
      const part = chunk.subarray(at, at + MAX_FRAME_BYTES);
      const header = Buffer.alloc(HEADER_BYTES);
      header.writeUInt32BE(part.length);
      yield Buffer.concat([header, part]);
    }
  }
  await complete;
  yield END_FRAME;
}

/** The chunks of framed bytes; throws MOVE_TRANSFER_FAILED when they end before the end frame, or go on after it. */
export async function* unframed(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const { part } of frameParts(source, { atEnd: 'await-eof' })) yield part;
}

/**
 * The first frame whole (at most `maxBytes`), then `rest`: the chunks of the frames after it,
 * done at the end frame without waiting for the source to end (the source keeps its side open
 * for the answer). Both throw MOVE_TRANSFER_FAILED when the source ends before the end frame.
 */
export async function firstFrame(source: AsyncIterable<Buffer>, maxBytes: number): Promise<{ first: Buffer; rest: AsyncGenerator<Buffer> }> {
  const parts = frameParts(source, { atEnd: 'stop' });
  const pieces: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await parts.next();
    if (next.done) throw new MoveError(MoveErrorCode.MOVE_PROTOCOL_VIOLATION, 'the source sent no first frame');
    size += next.value.part.length;
    if (size > maxBytes) {
      await parts.return(undefined);
      throw new MoveError(MoveErrorCode.MOVE_PROTOCOL_VIOLATION, `the source's first frame is longer than ${maxBytes} bytes`);
    }
    pieces.push(next.value.part);
    if (next.value.frameDone) break;
  }
  async function* rest(): AsyncGenerator<Buffer> {
    try {
      for (let next = await parts.next(); !next.done; next = await parts.next()) yield next.value.part;
    } finally {
      await parts.return(undefined);
    }
  }
  return { first: Buffer.concat(pieces), rest: rest() };
}

/**
 * The frames' bytes as they come, each part telling whether it completes its frame. At the end
 * frame it stops (`stop`), or reads on to the source's end and refuses anything more (`await-eof`).
 */
async function* frameParts(source: AsyncIterable<Buffer>, opts: { atEnd: 'stop' | 'await-eof' }): AsyncGenerator<{ part: Buffer; frameDone: boolean }> {
  let header = Buffer.alloc(0);
  let remaining = 0;
  let ended = false;
  for await (const chunk of source) {
    let at = 0;
    while (at < chunk.length) {
      if (ended) throw new MoveError(MoveErrorCode.MOVE_PROTOCOL_VIOLATION, 'the source sent bytes after its end frame');
      if (remaining > 0) {
        const part = chunk.subarray(at, at + remaining);
        remaining -= part.length;
        at += part.length;
        yield { part, frameDone: remaining === 0 };
        continue;
      }
      const need = HEADER_BYTES - header.length;
      header = Buffer.concat([header, chunk.subarray(at, at + need)]);
      at += Math.min(need, chunk.length - at);
      if (header.length < HEADER_BYTES) continue;
      remaining = header.readUInt32BE();
      header = Buffer.alloc(0);
      ended = remaining === 0;
      if (ended && opts.atEnd === 'stop') return;
    }
  }
  if (!ended) throw new MoveError(MoveErrorCode.MOVE_TRANSFER_FAILED, 'the source stopped before its stream was complete');
}
