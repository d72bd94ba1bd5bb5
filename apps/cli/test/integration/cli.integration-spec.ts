import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CreatedTenant, Sandbox, TemplateSummary } from '@moat/sdk';
import { eventually, startControlPlane, type ControlPlaneProcess } from '@moat/test-support';

/** The CLI as its users run it: the built dist/moat.js (the integration target builds it first). */
const CLI = join(__dirname, '../../dist/moat.js');

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

// The built CLI, run as a child process with a throw-away HOME, against the real control plane
// (its built dist/main.js on SQLite) with no node: sandboxes stay `pending`.
describe('moat against a real control plane', () => {
  let controlPlane: ControlPlaneProcess;
  const home = mkdtempSync(join(tmpdir(), 'moat-cli-it-home-'));
  let tenant: CreatedTenant;
  let tenantKey: string;

  function moat(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', HOME: home, ...env } }, (err, stdout, stderr) => {
        resolve({ exitCode: err ? Number(err.code) : 0, stdout, stderr });
      });
    });
  }
  const asTenant = (args: string[]): Promise<Run> => moat(args, { MOAT_TOKEN: tenantKey });

  beforeAll(async () => {
    controlPlane = await startControlPlane();
  });
  afterAll(async () => {
    await controlPlane?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('logs in, keeping the token in a file only its owner can read', async () => {
    const run = await moat(['login', controlPlane.apiUrl, '--token', controlPlane.adminToken]);
    expect(run).toMatchObject({ exitCode: 0, stdout: expect.stringContaining('as the admin') });
    expect(statSync(join(home, '.config/moat/config.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, '.config/moat')).mode & 0o777).toBe(0o700);
  });

  it('creates a tenant and an API key for it', async () => {
    const created = await moat(['tenant', 'create', 'acme', '--max-sandboxes', '5', '-o', 'json']);
    expect(created.exitCode).toBe(0);
    tenant = JSON.parse(created.stdout) as CreatedTenant;
    expect(tenant).toMatchObject({ name: 'acme', state: 'active', quota: { maxSandboxes: 5 }, apiKey: expect.stringMatching(/^moat_/) });

    const key = await moat(['key', 'create', '--tenant', tenant.id, '--name', 'ci', '-q']);
    expect(key.exitCode).toBe(0);
    tenantKey = key.stdout.trim();
    expect(tenantKey).toMatch(/^moat_\S+$/);
    expect(JSON.parse((await moat(['key', 'ls', '--tenant', tenant.id, '-o', 'json'])).stdout)).toHaveLength(2);
  });

  it("creates, lists, shows and deletes a sandbox with the tenant's key", async () => {
    const created = await asTenant(['sandbox', 'create', '--memory', '128', '--label', 'team=cli', '--image', 'docker.io/library/busybox:latest', '-q']);
    expect(created).toMatchObject({ exitCode: 0, stderr: '' });
    const id = created.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const listed = JSON.parse((await asTenant(['sandbox', 'ls', '--output', 'json'])).stdout) as Sandbox[];
    expect(listed).toEqual([expect.objectContaining({ id, state: 'pending', tenantId: tenant.id, memoryMiB: 128, labels: { team: 'cli' } })]);

    const shown = await asTenant(['sandbox', 'get', id]);
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^ID: +${id}\\nSTATE: +pending\\n`));

    expect((await asTenant(['sandbox', 'rm', id])).exitCode).toBe(0);
    await eventually(async () => expect((await asTenant(['sandbox', 'get', id])).exitCode).toBe(1));
  });

  it('creates a template from a spec file and lists it', async () => {
    const spec = join(home, 'spec.json');
    writeFileSync(spec, JSON.stringify({ image: 'docker.io/library/busybox:latest', command: ['sleep', 'infinity'], vcpus: 1, memoryMiB: 128 }));
    const created = await asTenant(['template', 'create', '--file', spec, '--name', 'web', '-o', 'json']);
    expect(created.exitCode).toBe(0);
    const { id } = JSON.parse(created.stdout) as { id: string };

    const templates = JSON.parse((await asTenant(['template', 'ls', '-o', 'json'])).stdout) as TemplateSummary[];
    expect(templates).toEqual([expect.objectContaining({ id, name: 'web', latestVersion: 1, tenantId: tenant.id })]);
    expect((await asTenant(['template', 'ls'])).stdout).toMatch(/^ID +NAME +LATEST/);
  });

  it('lists no node, the fleet being empty', async () => {
    expect(JSON.parse((await moat(['node', 'ls', '-o', 'json'])).stdout)).toEqual([]);
    expect(await moat(['node', 'ls'])).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^ID +NAME +STATE.*\n$/) });
  });

  it("exits 1 on the API's refusal, in words with its code", async () => {
    const missing = await asTenant(['sandbox', 'get', '00000000-0000-4000-8000-000000000000']);
    expect(missing).toMatchObject({ exitCode: 1, stdout: '' });
    expect(missing.stderr).toMatch(/^moat: NOT_FOUND: .+ \(HTTP 404\)\n$/);

    const forbidden = await asTenant(['node', 'ls']);
    expect(forbidden.exitCode).toBe(1);
    expect(forbidden.stderr).toMatch(/^moat: FORBIDDEN: /);
  });
});
