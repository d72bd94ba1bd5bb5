import { describe, expect, it } from '@jest/globals';
import { DEFAULT_DETACH_KEYS, DetachKeyScanner, detachKeys } from './detach-keys';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

describe('detachKeys', () => {
  it('reads characters and ctrl- keys as Docker does', () => {
    expect([...detachKeys(DEFAULT_DETACH_KEYS)]).toEqual([0x10, 0x11]);
    expect([...detachKeys('a,CTRL-A,ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')]).toEqual([0x61, 1, 0, 27, 28, 29, 30, 31]);
    expect([...detachKeys('')]).toEqual([]);
  });

  it('refuses what is not a key', () => {
    for (const spec of ['ctrl-1', 'ab', 'ctrl-', 'alt-x', 'ctrl-p,']) expect(() => detachKeys(spec)).toThrow(/is not a key/);
  });
});

describe('DetachKeyScanner', () => {
  const scanner = (): DetachKeyScanner => new DetachKeyScanner(detachKeys(DEFAULT_DETACH_KEYS));

  it('detaches on the sequence, even split across reads, dropping its keys and passing on what came before', () => {
    const scan = scanner();
    expect(scan.scan(bytes('ls\x10'))).toEqual({ forward: bytes('ls'), detach: false });
    expect(scan.scan(bytes('\x11rest'))).toEqual({ forward: bytes(''), detach: true });
  });

  it('passes held keys on when the sequence breaks, and starts again on the key that broke it', () => {
    const scan = scanner();
    expect(text(scan.scan(bytes('\x10x')).forward)).toBe('\x10x');
    expect(scan.scan(bytes('\x10\x10'))).toEqual({ forward: bytes('\x10'), detach: false });
    expect(scan.scan(bytes('\x11'))).toEqual({ forward: bytes(''), detach: true });
  });

  it('passes everything on without keys', () => {
    expect(new DetachKeyScanner(new Uint8Array()).scan(bytes('\x10\x11'))).toEqual({ forward: bytes('\x10\x11'), detach: false });
  });
});
