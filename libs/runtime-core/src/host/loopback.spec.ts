import { describe, expect, it } from '@jest/globals';
import { isLoopbackHost } from './loopback';

describe('isLoopbackHost', () => {
  it('knows 127.0.0.0/8, ::1 and localhost, and nothing else', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '[::1]', '::1', 'localhost', 'LOCALHOST']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['10.0.0.1', '128.0.0.1', 'cp.example', 'localhost.example', '127.0.0.1.nip.io', '[::2]', '0.0.0.0']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });
});
