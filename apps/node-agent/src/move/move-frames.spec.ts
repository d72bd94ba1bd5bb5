import { describe, expect, it } from '@jest/globals';
import { MoveErrorCode } from './move.errors';
import { framed, unframed } from './move-frames';

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
});
