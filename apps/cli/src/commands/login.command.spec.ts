import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { FakeApi, sandboxOf } from '@moat/sdk/testing';
import { scratchDirs } from '@moat/test-support';
import { ExitCode } from '../errors/exit-codes';
import { runMoat } from '../testing/run-cli';

describe('moat login', () => {
  const scratchDir = scratchDirs();
  const tenantMe = { kind: 'tenant', tenant: { id: 't-1', name: 'acme', state: 'active', quota: { maxSandboxes: 1, maxVcpus: 1, maxMemoryMiB: 1 }, createdAt: '' } };

  it('checks the token, stores it with mode 0600 in a 0700 dir, and later commands use it', async () => {
    const homeDir = scratchDir('moat-cli-home-');
    const api = new FakeApi().reply('GET /v1/me', { status: 200, body: tenantMe }).reply('GET /v1/sandboxes', { status: 200, body: [sandboxOf()] });
    const login = await runMoat(['login', 'http://moat.example:8080/', '--token', 'moat_abc'], { api, env: {}, homeDir });
    expect(login.exitCode).toBe(ExitCode.OK);
    expect(login.stdout).toContain('as tenant acme (t-1)');

    const file = join(homeDir, '.config/moat/config.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ apiUrl: 'http://moat.example:8080/', token: 'moat_abc' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(homeDir, '.config/moat')).mode & 0o777).toBe(0o700);

    expect((await runMoat(['sandbox', 'ls'], { api, env: {}, homeDir })).exitCode).toBe(ExitCode.OK);
    expect(api.seen[1]).toMatchObject({ path: '/v1/sandboxes', authorization: 'Bearer moat_abc' });
  });

  it('lets MOAT_API_URL and MOAT_TOKEN override the stored login', async () => {
    const homeDir = scratchDir('moat-cli-home-');
    const api = new FakeApi().reply('GET /v1/me', { status: 200, body: { kind: 'admin' } }).reply('GET /v1/sandboxes', { status: 200, body: [] });
    await runMoat(['login', 'http://stored:1', '--token', 'stored-token'], { api, env: {}, homeDir });
    await runMoat(['sandbox', 'ls'], { api, env: { MOAT_TOKEN: 'env-token' }, homeDir });
    expect(api.seen[1].authorization).toBe('Bearer env-token');
  });

  it('stores nothing when the API refuses the token', async () => {
    const homeDir = scratchDir('moat-cli-home-');
    const api = new FakeApi().reply('GET /v1/me', { status: 401, body: { error: { code: 'UNAUTHENTICATED', message: 'unknown API key' } } });
    const run = await runMoat(['login', 'http://moat.example', '--token', 'bad'], { api, env: {}, homeDir });
    expect(run.exitCode).toBe(ExitCode.API_ERROR);
    expect(run.stderr).toContain('UNAUTHENTICATED');
    expect(() => statSync(join(homeDir, '.config/moat/config.json'))).toThrow();
  });

  it('refuses a CA file it cannot read, exit 2', async () => {
    const run = await runMoat(['login', 'https://moat.example', '--token', 't', '--ca', '/nonexistent/ca.pem'], { api: new FakeApi(), env: {} });
    expect(run.exitCode).toBe(ExitCode.USAGE);
    expect(run.stderr).toContain('cannot read the CA file /nonexistent/ca.pem');
  });

  it('says to log in again when the stored file is no JSON, exit 2', async () => {
    const homeDir = scratchDir('moat-cli-home-');
    mkdirSync(join(homeDir, '.config/moat'), { recursive: true });
    writeFileSync(join(homeDir, '.config/moat/config.json'), '{"apiUrl":');
    const run = await runMoat(['sandbox', 'ls'], { api: new FakeApi(), env: {}, homeDir });
    expect(run.exitCode).toBe(ExitCode.USAGE);
    expect(run.stderr).toMatch(/config\.json is not JSON .*: run moat login again/);
  });
});
