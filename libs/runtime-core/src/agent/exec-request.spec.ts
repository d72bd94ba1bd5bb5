import { describe, expect, it } from '@jest/globals';
import { execProcessRequest } from './exec-request';

describe('execProcessRequest', () => {
  const base = { containerId: 'c1', execId: 'e1', args: ['id'], env: ['A=1'], cwd: '/' };

  it('runs the process as root unless a user is asked for', () => {
    expect(execProcessRequest(base).process).toEqual({ args: ['id'], env: ['A=1'], cwd: '/', terminal: false, uid: 0, gid: 0 });
    expect(execProcessRequest({ ...base, user: { uid: 1000, gid: 100 }, tty: true }).process).toMatchObject({ terminal: true, uid: 1000, gid: 100 });
  });
});
