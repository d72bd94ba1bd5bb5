import { describe, expect, it } from '@jest/globals';
import { serverTiming } from './server-timing';

describe('serverTiming', () => {
  it('names each duration without its Ms, to a tenth of a ms, and leaves out what was not measured', () => {
    expect(serverTiming({ lookupMs: 1.234, nodeMs: 30, guestMs: undefined })).toBe('lookup;dur=1.2, node;dur=30.0');
    expect(serverTiming({})).toBe('');
  });
});
