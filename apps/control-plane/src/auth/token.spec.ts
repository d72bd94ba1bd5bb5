import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { generateApiKey, hashApiKey, parseBearer, tokensEqual } from './token';

describe('API keys', () => {
  it('are random, prefixed, and stored only as their SHA-256', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.key).toMatch(/^moat_[A-Za-z0-9_-]{43}$/);
    expect(a.key).not.toBe(b.key);
    expect(a.hash).toBe(createHash('sha256').update(a.key).digest('hex'));
    expect(a.hash).toBe(hashApiKey(a.key));
    expect(a.key.startsWith(a.prefix)).toBe(true);
    expect(a.prefix.length).toBeLessThan(a.key.length / 2);
  });
});

describe('tokensEqual', () => {
  it('matches only the identical token, whatever the lengths', () => {
    expect(tokensEqual('s3cret-token-value', 's3cret-token-value')).toBe(true);
    expect(tokensEqual('s3cret-token-valuf', 's3cret-token-value')).toBe(false);
    expect(tokensEqual('s3cret', 's3cret-token-value')).toBe(false);
    expect(tokensEqual('', 's3cret-token-value')).toBe(false);
  });
});

describe('parseBearer', () => {
  it('extracts the token of a Bearer header only', () => {
    expect(parseBearer('Bearer abc.def')).toBe('abc.def');
    expect(parseBearer('bearer abc')).toBe('abc');
    expect(parseBearer('Basic abc')).toBeUndefined();
    expect(parseBearer('Bearer')).toBeUndefined();
    expect(parseBearer('Bearer a b')).toBeUndefined();
    expect(parseBearer(undefined)).toBeUndefined();
  });
});
