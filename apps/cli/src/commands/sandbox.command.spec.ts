import { describe, expect, it } from '@jest/globals';
import { FakeApi, sandboxOf } from '@moat/sdk/testing';
import { ExitCode } from '../errors/exit-codes';
import { runMoat } from '../testing/run-cli';

describe('moat sandbox', () => {
  const created = sandboxOf({ id: 'sb-1' });

  it('create sends what the flags say, and prints the new id alone with -q', async () => {
    const api = new FakeApi().reply('POST /v1/sandboxes', { status: 201, body: created });
    const run = await runMoat(
      ['sandbox', 'create', '--vcpus', '2', '--memory', '512', '--image', 'alpine:3', '--env', 'A=1', '--env', 'B=x=y', '--label', 'team=cli', '--network-model', 'bridge', '-q', '--', 'sh', '-c', 'sleep 9'],
      { api },
    );
    expect(run).toEqual({ exitCode: ExitCode.OK, stdout: 'sb-1\n', stderr: '' });
    expect(api.seen[0].body).toEqual({
      command: ['sh', '-c', 'sleep 9'],
      vcpus: 2,
      memoryMiB: 512,
      image: 'alpine:3',
      env: { A: '1', B: 'x=y' },
      labels: { team: 'cli' },
      networkModel: 'bridge',
    });
  });

  it('create refuses a malformed --env before asking the API', async () => {
    const api = new FakeApi();
    const run = await runMoat(['sandbox', 'create', '--env', 'novalue'], { api });
    expect(run.exitCode).toBe(ExitCode.USAGE);
    expect(run.stderr).toContain('expected KEY=VALUE');
    expect(api.seen).toEqual([]);
  });

  it('create --wait polls until running and shows the running sandbox', async () => {
    const api = new FakeApi()
      .reply('POST /v1/sandboxes', { status: 201, body: created })
      .reply('GET /v1/sandboxes/sb-1', { status: 200, body: sandboxOf({ id: 'sb-1', state: 'creating' }) }, { status: 200, body: sandboxOf({ id: 'sb-1', state: 'running' }) });
    const run = await runMoat(['sandbox', 'create', '--wait', '-o', 'json'], { api });
    expect(run.exitCode).toBe(ExitCode.OK);
    expect(JSON.parse(run.stdout)).toMatchObject({ id: 'sb-1', state: 'running' });
  });

  it('create --wait exits 3 when the sandbox fails', async () => {
    const api = new FakeApi()
      .reply('POST /v1/sandboxes', { status: 201, body: created })
      .reply('GET /v1/sandboxes/sb-1', { status: 200, body: sandboxOf({ id: 'sb-1', state: 'failed', error: { code: 'IMAGE_PULL_FAILED', message: 'no such image' } }) });
    const run = await runMoat(['sandbox', 'create', '--wait'], { api });
    expect(run.exitCode).toBe(ExitCode.WAIT_FAILED);
    expect(run.stderr).toMatch(/^moat: SANDBOX_FAILED: .*IMAGE_PULL_FAILED: no such image/);
  });

  it('ls filters by state and deployment; get and rm show one sandbox', async () => {
    const api = new FakeApi()
      .reply('GET /v1/sandboxes', { status: 200, body: [created] })
      .reply('GET /v1/sandboxes/sb-1', { status: 200, body: created })
      .reply('DELETE /v1/sandboxes/sb-1', { status: 200, body: { ...created, state: 'stopping' } });
    await runMoat(['sandbox', 'ls', '--state', 'running', '--deployment', 'd-1'], { api });
    expect(Object.fromEntries(api.seen[0].query)).toEqual({ state: 'running', deploymentId: 'd-1' });
    expect((await runMoat(['sandbox', 'get', 'sb-1'], { api })).stdout).toMatch(/^ID: +sb-1\nSTATE: +pending\n/);
    expect((await runMoat(['sandbox', 'rm', 'sb-1'], { api })).stdout).toMatch(/STATE: +stopping/);
  });

  it('hibernate and wake ask for them and show the sandbox as accepted; fork prints its clones', async () => {
    const running = sandboxOf({ id: 'sb-1', state: 'running', rootfs: 'block' });
    const api = new FakeApi()
      .reply('POST /v1/sandboxes/sb-1/hibernate', { status: 202, body: running })
      .reply('POST /v1/sandboxes/sb-1/wake', { status: 202, body: { ...running, state: 'hibernated' } })
      .reply('POST /v1/sandboxes/sb-1/fork', { status: 201, body: [sandboxOf({ id: 'c-1', forkedFrom: 'sb-1' }), sandboxOf({ id: 'c-2', forkedFrom: 'sb-1' })] });
    expect((await runMoat(['sandbox', 'hibernate', 'sb-1'], { api })).stdout).toMatch(/^ID: +sb-1\nSTATE: +running\n/);
    expect((await runMoat(['sandbox', 'wake', 'sb-1'], { api })).stdout).toMatch(/STATE: +hibernated/);
    const fork = await runMoat(['sandbox', 'fork', 'sb-1', '--count', '2', '-o', 'json'], { api });
    expect(fork.exitCode).toBe(ExitCode.OK);
    expect((JSON.parse(fork.stdout) as { id: string }[]).map((clone) => clone.id)).toEqual(['c-1', 'c-2']);
    expect(api.seen.at(-1)).toMatchObject({ method: 'POST', path: '/v1/sandboxes/sb-1/fork', body: { count: 2 } });
    expect((await runMoat(['sandbox', 'fork', 'sb-1', '--count', 'two'], { api })).exitCode).toBe(ExitCode.USAGE);
  });

  it('migrate asks for the move, to --node or where the scheduler chooses, and shows the sandbox as accepted', async () => {
    const api = new FakeApi().reply('POST /v1/sandboxes/sb-1/migrate', { status: 202, body: sandboxOf({ id: 'sb-1', state: 'migrating', nodeId: 'n-1' }) });
    const run = await runMoat(['sandbox', 'migrate', 'sb-1', '--node', 'n-2'], { api });
    expect(run.exitCode).toBe(ExitCode.OK);
    expect(run.stdout).toMatch(/^ID: +sb-1\nSTATE: +migrating\nNODE: +n-1\n/);
    await runMoat(['sandbox', 'migrate', 'sb-1'], { api });
    expect(api.seen.map((r) => [r.path, r.body])).toEqual([
      ['/v1/sandboxes/sb-1/migrate', { nodeId: 'n-2' }],
      ['/v1/sandboxes/sb-1/migrate', {}],
    ]);
  });

  it("migrate exits 1 with the API's refusal", async () => {
    const api = new FakeApi().reply('POST /v1/sandboxes/sb-1/migrate', { status: 409, body: { error: { code: 'MIGRATION_UNSUPPORTED', message: 'only a rootfs block sandbox can migrate' } } });
    const run = await runMoat(['sandbox', 'migrate', 'sb-1'], { api });
    expect(run.exitCode).toBe(ExitCode.API_ERROR);
    expect(run.stderr).toMatch(/^moat: MIGRATION_UNSUPPORTED: only a rootfs block sandbox can migrate/);
  });
});
