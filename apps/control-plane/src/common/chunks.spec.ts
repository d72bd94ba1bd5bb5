import { describe, expect, it } from '@jest/globals';
import { chunksServingTheLoop } from './chunks';

describe('chunksServingTheLoop', () => {
  it('hands out the slices in order and lets the event loop in before each one after the first', async () => {
    const seen: string[] = [];
    setImmediate(() => seen.push('loop'));
    for await (const chunk of chunksServingTheLoop([1, 2, 3, 4, 5], 2)) seen.push(chunk.join(','));
    expect(seen).toEqual(['1,2', 'loop', '3,4', '5']);
  });

  it('gives nothing for no items', async () => {
    const slices: number[][] = [];
    for await (const chunk of chunksServingTheLoop<number>([], 2)) slices.push(chunk);
    expect(slices).toEqual([]);
  });
});
