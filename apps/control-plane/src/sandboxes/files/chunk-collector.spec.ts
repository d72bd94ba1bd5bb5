import { describe, expect, it } from '@jest/globals';
import { ChunkCollector } from './chunk-collector';

describe('ChunkCollector', () => {
  it('regroups pieces of any size into full chunks and a shorter rest, losing no byte', () => {
    const collector = new ChunkCollector(4);
    const out = [...collector.add(Buffer.from('ab')), ...collector.add(Buffer.from('cdefghij')), ...collector.add(Buffer.from('k'))];
    expect(out.map((chunk) => chunk.toString())).toEqual(['abcd', 'efgh']);
    expect(collector.flush()?.toString()).toBe('ijk');
    expect(collector.flush()).toBeUndefined();
  });
});
