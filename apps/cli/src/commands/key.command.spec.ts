import { describe, expect, it } from '@jest/globals';
import { FakeApi } from '@moat/sdk/testing';
import { ExitCode } from '../errors/exit-codes';
import { runMoat } from '../testing/run-cli';

describe('moat key', () => {
  const created = { id: 'k-2', name: 'ci', prefix: 'moat_ab', key: 'moat_abcdef', createdAt: '2026-12-06T00:00:00.000Z' };

  it("works on the token's own tenant when --tenant is not given", async () => {
    const api = new FakeApi()
      .reply('GET /v1/me', { status: 200, body: { kind: 'tenant', tenant: { id: 't-1' } } })
      .reply('POST /v1/tenants/t-1/api-keys', { status: 201, body: created });
    const run = await runMoat(['key', 'create', '--name', 'ci', '-q'], { api });
    expect(run).toEqual({ exitCode: ExitCode.OK, stdout: 'moat_abcdef\n', stderr: '' });
    expect(api.seen[1].body).toEqual({ name: 'ci' });
  });

  it('needs --tenant with the admin token, exit 2', async () => {
    const api = new FakeApi().reply('GET /v1/me', { status: 200, body: { kind: 'admin' } });
    const run = await runMoat(['key', 'ls'], { api });
    expect(run.exitCode).toBe(ExitCode.USAGE);
    expect(run.stderr).toContain('--tenant <id> is required');
  });

  it('revoke deletes the key; json output stays empty, as the API answers nothing', async () => {
    const api = new FakeApi().reply('DELETE /v1/tenants/t-9/api-keys/k-2', { status: 204 });
    expect(await runMoat(['key', 'revoke', 'k-2', '--tenant', 't-9'], { api })).toEqual({ exitCode: ExitCode.OK, stdout: 'revoked key k-2\n', stderr: '' });
    expect(await runMoat(['-o', 'json', 'key', 'revoke', 'k-2', '--tenant', 't-9'], { api })).toEqual({ exitCode: ExitCode.OK, stdout: '', stderr: '' });
  });
});
