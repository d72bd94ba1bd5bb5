import { RuntimeError, RuntimeErrorCode } from '@moat/runtime-core';
import { describe, expect, it } from '@jest/globals';
import { errorInfo } from './error-info';

describe('errorInfo', () => {
  it("keeps an error's own code and message", () => {
    expect(errorInfo(new RuntimeError(RuntimeErrorCode.SANDBOX_NOT_RUNNING, 'sandbox s1 is not running'))).toEqual({
      code: 'SANDBOX_NOT_RUNNING',
      message: 'sandbox s1 is not running',
    });
  });

  it('gives errors without a string code, and values that are not errors, EXEC_FAILED', () => {
    expect(errorInfo(Object.assign(new Error('boom'), { code: 5 }))).toEqual({ code: 'EXEC_FAILED', message: 'boom' });
    expect(errorInfo('plain')).toEqual({ code: 'EXEC_FAILED', message: 'plain' });
  });

  it('cuts a long message to 4096 characters', () => {
    expect(errorInfo(new Error('x'.repeat(5000))).message).toHaveLength(4096);
  });
});
