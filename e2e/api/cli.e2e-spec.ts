import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { API_URL, api } from '../support/api';
import { newTenantKey, sandboxGone } from '../support/sandboxes';

// e2e/run.mjs runs the specs from e2e/.
const CLI = resolve('..', 'apps', 'cli', 'dist', 'moat.js');
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

// The built CLI as a user runs it, logged in as a tenant of its own, against the real stack.
describe('the moat CLI against a real stack and a real VM', () => {
  let key: string;
  let sandboxId: string;
  const home = mkdtempSync(join(tmpdir(), 'moat-cli-e2e-'));

  const moat = (args: string[], options: { timeoutMs?: number } = {}): CliRun => {
    const run = spawnSync(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, '.config') },
      encoding: 'utf8',
      timeout: options.timeoutMs ?? 180_000,
    });
    return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
  };

  beforeAll(async () => {
    key = await newTenantKey('cli-e2e');
    const login = moat(['login', API_URL, '--token', key]);
    expect(login).toMatchObject({ status: 0 });
    expect(statSync(join(home, '.config', 'moat', 'config.json')).mode & 0o777).toBe(0o600);
    const created = moat(['sandbox', 'create', '--vcpus', '1', '--memory', '128', '--wait', '-q']);
    expect(created).toMatchObject({ status: 0, stderr: '' });
    sandboxId = created.stdout.trim();
    expect(sandboxId).toMatch(/^[0-9a-f-]{36}$/);
  });

  afterAll(async () => {
    if (sandboxId) {
      await api('DELETE', `/v1/sandboxes/${sandboxId}`, { token: key });
      await sandboxGone(sandboxId, key);
    }
    rmSync(home, { recursive: true, force: true });
  });

  it('lists the sandbox as JSON and passes the exit code of exec through', () => {
    const listed = moat(['-o', 'json', 'sandbox', 'ls']);
    expect(listed.status).toBe(0);
    expect((JSON.parse(listed.stdout) as { id: string; state: string }[]).map(({ id, state }) => ({ id, state }))).toEqual([{ id: sandboxId, state: 'running' }]);
    expect(moat(['exec', sandboxId, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({ status: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('copies a 20 MB file in and back out unchanged, with its mode', () => {
    const data = randomBytes(20 * 1024 * 1024);
    const local = join(home, 'in.bin');
    writeFileSync(local, data, { mode: 0o640 });
    const copiedIn = moat(['cp', local, `${sandboxId}:/tmp/data/in.bin`], { timeoutMs: 600_000 });
    expect(copiedIn).toMatchObject({ status: 0 });
    const inside = moat(['exec', sandboxId, '--', 'sh', '-c', 'sha256sum /tmp/data/in.bin; stat -c %a /tmp/data/in.bin']);
    expect(inside.stdout).toBe(`${sha256(data)}  /tmp/data/in.bin\n640\n`);
    const back = join(home, 'back.bin');
    expect(moat(['cp', `${sandboxId}:/tmp/data/in.bin`, back], { timeoutMs: 600_000 })).toMatchObject({ status: 0 });
    expect(sha256(readFileSync(back))).toBe(sha256(data));
  });

  it('refuses hostile paths with the right status and writes nothing outside the container', async () => {
    const files = `/v1/sandboxes/${sandboxId}/files`;
    const put = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${API_URL}${files}?path=${encodeURIComponent(path)}`, { method: 'PUT', headers: { authorization: `Bearer ${key}`, ...headers }, body: 'evil' });
    const get = (path: string) => fetch(`${API_URL}${files}?path=${encodeURIComponent(path)}`, { headers: { authorization: `Bearer ${key}` } });

    expect((await get('../../etc/passwd')).status).toBe(400);
    expect((await put('/tmp/../../evil')).status).toBe(400);
    expect(moat(['exec', sandboxId, '--', 'ln', '-s', '/proc/1/root', '/tmp/escape']).status).toBe(0);
    const through = await get('/tmp/escape/etc/passwd');
    expect(through.status).toBe(400);
    expect(((await through.json()) as { error: { code: string } }).error.code).toBe('FILE_PATH_INVALID');
    expect((await put('/tmp/escape/evil')).status).toBe(400);
    // A 2 GB upload is refused on its declared length, before any byte is read.
    expect(await declaredUpload(`${API_URL}${files}?path=/tmp/huge`, key, 2 * 1024 ** 3)).toMatchObject({ status: 413, code: 'FILE_TOO_LARGE' });
    expect(moat(['exec', sandboxId, '--', 'sh', '-c', 'test ! -e /evil && test ! -e /tmp/huge && ls -a /tmp | grep -c moat-upload'])).toEqual({
      status: 1,
      stdout: '0\n',
      stderr: '',
    });
    expect((await get('/tmp/nothing-here')).status).toBe(404);
  });
});

/** Starts an upload that says it is `length` bytes, sends one, and resolves with the answer. */
function declaredUpload(url: string, token: string, length: number): Promise<{ status: number; code: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request(url, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-length': String(length) } }, (res) => {
      let body = '';
      res.on('data', (part: Buffer) => (body += part.toString()));
      res.on('end', () => {
        resolvePromise({ status: res.statusCode ?? 0, code: (JSON.parse(body) as { error: { code: string } }).error.code });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.write('x');
  });
}
