import { describe, expect, it } from '@jest/globals';
import { fromKeyValues, toKeyValues } from './metadata';

describe('metadata', () => {
  it('sends each value of a key as a pair of its own and gathers them back in order', () => {
    const pairs = toKeyValues({ a: ['1', '2'], b: ['3'], empty: [] });
    expect(pairs).toEqual([
      { key: 'a', value: '1' },
      { key: 'a', value: '2' },
      { key: 'b', value: '3' },
    ]);
    expect({ ...fromKeyValues(pairs) }).toEqual({ a: ['1', '2'], b: ['3'] });
  });

  it('keeps keys that name Object.prototype members as plain data', () => {
    const metadata = fromKeyValues([
      { key: '__proto__', value: 'x' },
      { key: 'constructor', value: 'y' },
    ]);
    expect(Object.getPrototypeOf(metadata)).toBeNull();
    expect(metadata['__proto__']).toEqual(['x']);
    expect(metadata['constructor']).toEqual(['y']);
    expect('toString' in metadata).toBe(false);
  });
});
