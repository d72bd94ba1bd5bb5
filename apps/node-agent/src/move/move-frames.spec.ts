import { describe, expect, it } from '@jest/globals';
import { MoveErrorCode } from './move.errors';
import { firstFrame, framed, unframed } from './move-frames';

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* pieces(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
  await Promise.resolve();
}

describe('move frames', () => {
  const data = [Buffer.from('saved '), Buffer.from('state'), Buffer.alloc(70_000, 7)];

  it('gives back the bytes however the connection cuts them', async () => {
    const wire = await collect(framed(pieces(Buffer.concat(data), 4096), Promise.resolve()));
    for (const size of [1, 3, 5, 4096, wire.length]) {
      expect((await collect(unframed(pieces(wire, size)))).equals(Buffer.concat(data))).toBe(true);
    }
  });

  it('sends no end frame when the archive failed, and the target then refuses what came', async () => {
    const failed = Promise.reject(new Error('tar exited 2'));
    const wire: Buffer[] = [];
    await expect(
      (async () => {
        for await (const chunk of framed(pieces(Buffer.concat(data), 4096), failed)) wire.push(chunk);
      })(),
    ).rejects.toThrow('tar exited 2');
    await expect(collect(unframed(pieces(Buffer.concat(wire), 1000)))).rejects.toMatchObject({ code: MoveErrorCode.MOVE_TRANSFER_FAILED });
  });

  it('refuses bytes after the end frame', async () => {
    const wire = await collect(framed(pieces(Buffer.from('x'), 1), Promise.resolve()));
    await expect(collect(unframed(pieces(Buffer.concat([wire, Buffer.from('more')]), 100)))).rejects.toMatchObject({
      code: MoveErrorCode.MOVE_PROTOCOL_VIOLATION,
    });
  });

  it('gives the first frame whole, then the rest up to the end frame without waiting for the source to end', async () => {
    const head = Buffer.from('{"state":"{}","diskBytes":1}');
    const wire = await collect(framed((async function* () { yield head; yield* pieces(Buffer.concat(data), 4096); })(), Promise.resolve()));
    for (const size of [1, 7, wire.length]) {
      // A source that stays open after its end frame (it waits for the answer).
      const open = (async function* () { yield* pieces(wire, size); await new Promise(() => undefined); })();
      const { first, rest } = await firstFrame(open, 1024);
      expect(first.equals(head)).toBe(true);
      expect((await collect(rest)).equals(Buffer.concat(data))).toBe(true);
    }
  });

  it('refuses a first frame longer than allowed, and a stream cut before its end frame', async () => {
    const wire = await collect(framed(pieces(Buffer.alloc(2048, 1), 2048), Promise.resolve()));
    await expect(firstFrame(pieces(wire, 100), 1024)).rejects.toMatchObject({ code: MoveErrorCode.MOVE_PROTOCOL_VIOLATION });
    const cut = await collect(framed((async function* () { yield Buffer.from('head'); yield* pieces(Buffer.alloc(10_000, 2), 10_000); })(), Promise.resolve()));
    const { rest } = await firstFrame(pieces(cut.subarray(0, cut.length - 100), 512), 1024);
    await expect(collect(rest)).rejects.toMatchObject({ code: MoveErrorCode.MOVE_TRANSFER_FAILED });
  });
});
