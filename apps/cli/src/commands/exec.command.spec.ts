import { describe, expect, it } from '@jest/globals';
import { FakeApi } from '@moat/sdk/testing';
import { runMoat } from '../testing/run-cli';

describe('moat exec', () => {
  function apiAnswering(result: object): FakeApi {
    return new FakeApi().reply('POST /v1/sandboxes/sb-1/exec', { status: 200, body: result });
  }

  it("prints the command's stdout and stderr and exits with its exit code", async () => {
    const api = apiAnswering({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
    const run = await runMoat(['exec', 'sb-1', '--cwd', '/tmp', '--env', 'A=1', '--', 'sh', '-c', 'exit 7'], { api });
    expect(run).toEqual({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
    expect(api.seen[0].body).toEqual({ command: ['sh', '-c', 'exit 7'], cwd: '/tmp', env: { A: '1' } });
  });

  it('says when the command timed out', async () => {
    const run = await runMoat(['exec', 'sb-1', '--timeout', '100', '--', 'sleep', '9'], { api: apiAnswering({ exitCode: 137, stdout: '', stderr: '', timedOut: true }) });
    expect(run.exitCode).toBe(137);
    expect(run.stderr).toBe('moat: the command timed out\n');
  });

  it('with --output json prints the result object and still exits with its code', async () => {
    const result = { exitCode: 1, stdout: '', stderr: 'no\n' };
    const run = await runMoat(['-o', 'json', 'exec', 'sb-1', '--', 'false'], { api: apiAnswering(result) });
    expect(run.exitCode).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual(result);
  });
});
