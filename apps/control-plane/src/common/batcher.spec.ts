import { describe, expect, it } from '@jest/globals';
import { Batcher } from './batcher';

describe('Batcher', () => {
  it('hands items added together to one batch, and those added while it runs to the next', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const batcher = new Batcher<number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    const first = [batcher.add(1), batcher.add(2), batcher.add(3)];
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1, 2, 3]]);
    const second = [batcher.add(4), batcher.add(5)];
    release();
    await Promise.all([...first, ...second]);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('splits a burst larger than the batch size, keeping arrival order', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher<number>((items) => Promise.resolve(void batches.push(items)), { maxBatch: 2 });
    await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.add(n)));
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('waits the window for more items before running a batch', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher<number>((items) => Promise.resolve(void batches.push(items)), { windowMs: 30 });
    const first = batcher.add(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = batcher.add(2);
    await Promise.all([first, second]);
    expect(batches).toEqual([[1, 2]]);
  });

  it("rejects the items of a failed batch with its error, and goes on with the next", async () => {
    let calls = 0;
    const batcher = new Batcher<string>(() => {
      calls++;
      return calls === 1 ? Promise.reject(new Error('database gone')) : Promise.resolve();
    });
    const failed = [batcher.add('a'), batcher.add('b')];
    await expect(failed[0]).rejects.toThrow('database gone');
    await expect(failed[1]).rejects.toThrow('database gone');
    await expect(batcher.add('c')).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });
});
