import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from '../common/api.error';
import { httpStatusFor } from '../common/error-status';
import { nodeError } from './agent.channel';

describe('nodeError', () => {
  it('keeps what a node refusal means: a sandbox the node has stopped is a conflict, not a bad gateway', () => {
    const stopped = nodeError({ code: 'SANDBOX_NOT_RUNNING', message: 'sandbox x is failed' });
    expect(stopped.code).toBe(ErrorCode.SANDBOX_NOT_RUNNING);
    expect(httpStatusFor(stopped.code)).toBe(409);
    expect(stopped.message).toBe('SANDBOX_NOT_RUNNING: sandbox x is failed');
    expect(httpStatusFor(nodeError({ code: 'SANDBOX_NOT_FOUND', message: 'gone' }).code)).toBe(409);
    expect(httpStatusFor(nodeError({ code: 'INVALID_SPEC', message: 'exec needs a command' }).code)).toBe(400);
  });

  it("reports the node's own failures as 502, naming the node's code", () => {
    const failed = nodeError({ code: 'AGENT_CALL_FAILED', message: 'ExecProcess: deadline exceeded' });
    expect(httpStatusFor(failed.code)).toBe(502);
    expect(failed.message).toContain('AGENT_CALL_FAILED');
  });
});
