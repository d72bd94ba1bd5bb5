import { describe, expect, it } from '@jest/globals';
import { ENV_MAP, LABEL_MAP, stringMapProblem } from './string-map.validator';

describe('stringMapProblem', () => {
  it('accepts well-formed maps', () => {
    expect(stringMapProblem({ PATH: '/bin', _X1: '' }, ENV_MAP)).toBeUndefined();
    expect(stringMapProblem({ 'app.kubernetes.io/name': 'web' }, LABEL_MAP)).toBeUndefined();
  });

  it('rejects non-objects, bad keys, non-string and oversized values, too many entries', () => {
    expect(stringMapProblem(['a'], ENV_MAP)).toMatch(/object/);
    expect(stringMapProblem({ '1X': 'a' }, ENV_MAP)).toMatch(/key "1X"/);
    expect(stringMapProblem({ X: 1 }, ENV_MAP)).toMatch(/must be a string/);
    expect(stringMapProblem({ x: 'v'.repeat(257) }, LABEL_MAP)).toMatch(/at most 256/);
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    expect(stringMapProblem(many, LABEL_MAP)).toMatch(/at most 64 entries/);
  });
});
