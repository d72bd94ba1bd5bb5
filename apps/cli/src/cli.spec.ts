import { createServer } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { FakeApi, sandboxOf } from '@moat/sdk/testing';
import { ExitCode } from './errors/exit-codes';
import { FAKE_TOKEN, runMoat } from './testing/run-cli';

describe('moat: exit codes and errors', () => {
  it('prints the help with the exit codes, exit 0', async () => {
    const run = await runMoat(['--help']);
    expect(run.exitCode).toBe(ExitCode.OK);
    expect(run.stdout).toContain('Exit codes:');
    expect((await runMoat(['rollout', 'status', '--help'])).stdout).toContain('--watch');
  });

  it('exits 2 on an unknown command, an unknown option, a bad value and a missing argument', async () => {
    for (const args of [['bogus'], ['sandbox', 'ls', '--bogus'], ['sandbox', 'create', '--vcpus', 'two'], ['sandbox', 'get'], ['--output', 'yaml', 'sandbox', 'ls']]) {
      const run = await runMoat(args);
      expect({ args, exitCode: run.exitCode }).toEqual({ args, exitCode: ExitCode.USAGE });
      expect(run.stderr).toMatch(/error: /);
    }
  });

  it('exits 2 when not logged in, saying how to', async () => {
    const run = await runMoat(['sandbox', 'ls'], { env: {} });
    expect(run.exitCode).toBe(ExitCode.USAGE);
    expect(run.stderr).toContain('moat login <api-url> --token <token>');
  });

  it("exits 1 on the API's refusal, with its code and message", async () => {
    const api = new FakeApi().reply('GET /v1/sandboxes/nope', { status: 404, body: { error: { code: 'NOT_FOUND', message: 'sandbox nope not found' } } });
    const run = await runMoat(['sandbox', 'get', 'nope'], { api });
    expect(run).toEqual({ exitCode: ExitCode.API_ERROR, stdout: '', stderr: 'moat: NOT_FOUND: sandbox nope not found (HTTP 404)\n' });
    expect(api.seen[0].authorization).toBe(`Bearer ${FAKE_TOKEN}`);
  });

  it('exits 1 when the API cannot be reached', async () => {
    const run = await runMoat(['sandbox', 'ls'], { env: { MOAT_API_URL: `http://127.0.0.1:${await closedPort()}`, MOAT_TOKEN: 't' } });
    expect(run.exitCode).toBe(ExitCode.API_ERROR);
    expect(run.stderr).toMatch(/^moat: cannot reach the API: .*ECONNREFUSED/);
  });
});

describe('moat: --output', () => {
  const sandboxes = [sandboxOf({ labels: { team: 'a' } }), sandboxOf({ id: '7f0c1d2e-0000-4000-8000-000000000002', state: 'running', ip: '10.0.0.2' })];

  it("json writes exactly the API's objects, wherever the option is", async () => {
    const api = new FakeApi().reply('GET /v1/sandboxes', { status: 200, body: sandboxes });
    for (const args of [['--output', 'json', 'sandbox', 'ls'], ['sandbox', 'ls', '-o', 'json']]) {
      const run = await runMoat(args, { api });
      expect(run.exitCode).toBe(ExitCode.OK);
      expect(JSON.parse(run.stdout)).toEqual(sandboxes);
    }
  });

  it('table writes a row per object under aligned headers', async () => {
    const api = new FakeApi().reply('GET /v1/sandboxes', { status: 200, body: sandboxes });
    const lines = (await runMoat(['sandbox', 'ls'], { api })).stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ID +STATE +NODE +VCPUS +MEMORY +IMAGE +IP +LABELS +CREATED$/);
    expect(lines[1]).toMatch(/^7f0c1d2e-0000-4000-8000-000000000001 +pending +- +1 +256Mi +- +- +team=a +2026-12-06 00:00:00$/);
    expect(lines[2].indexOf('running')).toBe(lines[0].indexOf('STATE'));
  });
});

/** A loopback port nothing listens on: one that was free a moment ago. */
function closedPort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    }),
  );
}
