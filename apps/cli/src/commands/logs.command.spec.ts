import { describe, expect, it } from '@jest/globals';
import { FakeApi } from '@moat/sdk/testing';
import { ExitCode } from '../errors/exit-codes';
import { runMoat } from '../testing/run-cli';

const TIME = '2026-01-02T15:04:05.006Z';
const event = (seq: number, stream: string, text: string) => `id: ${seq}\nevent: ${stream}\ndata: ${JSON.stringify({ time: TIME, text })}\n\n`;
const END = 'event: end\ndata: {}\n\n';

describe('moat logs', () => {
  const apiStreaming = (eventStream: string) => new FakeApi().reply('GET /v1/sandboxes/sb-1/logs', { status: 200, eventStream });

  it("prints the process's stdout to stdout and its stderr to stderr, and exits 0 at the end", async () => {
    const api = apiStreaming(`${event(1, 'stdout', 'out 1\n')}${event(2, 'stderr', 'err\n')}${event(3, 'stdout', 'out 2\n')}${END}`);
    const run = await runMoat(['logs', '-f', '--since', '5m', '--tail', '20', 'sb-1'], { api });
    expect(run).toEqual({ exitCode: ExitCode.OK, stdout: 'out 1\nout 2\n', stderr: 'err\n' });
    expect(Object.fromEntries(api.seen[0].query)).toEqual({ follow: 'true', since: '5m', tail: '20' });
  });

  it('with --output json prints one object per line', async () => {
    const run = await runMoat(['-o', 'json', 'logs', 'sb-1'], { api: apiStreaming(`${event(1, 'stdout', 'a\n')}${event(2, 'stderr', 'b\n')}`) });
    expect(run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual([
      { stream: 'stdout', time: TIME, text: 'a\n' },
      { stream: 'stderr', time: TIME, text: 'b\n' },
    ]);
  });

  it('exits 1 with the code of a refusal, 3 when a followed stream breaks off, 2 on a bad --tail', async () => {
    const refused = new FakeApi().reply('GET /v1/sandboxes/sb-1/logs', { status: 409, body: { error: { code: 'SANDBOX_NOT_RUNNING', message: 'sandbox sb-1 is pending' } } });
    expect(await runMoat(['logs', 'sb-1'], { api: refused })).toEqual({
      exitCode: ExitCode.API_ERROR,
      stdout: '',
      stderr: 'moat: SANDBOX_NOT_RUNNING: sandbox sb-1 is pending (HTTP 409)\n',
    });
    const cut = await runMoat(['logs', '--follow', 'sb-1'], { api: apiStreaming(event(1, 'stdout', 'half')) });
    expect(cut).toMatchObject({ exitCode: ExitCode.WAIT_FAILED, stdout: 'half', stderr: expect.stringContaining('LOGS_INTERRUPTED') });
    expect((await runMoat(['logs', '--tail', 'ten', 'sb-1'])).exitCode).toBe(ExitCode.USAGE);
  });

  it('has help', async () => {
    expect((await runMoat(['logs', '--help'])).stdout).toMatch(/-f, --follow[\s\S]*--since <when>[\s\S]*--tail <lines>/);
  });
});
