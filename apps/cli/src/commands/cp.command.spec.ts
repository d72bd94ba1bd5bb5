import { describe, expect, it } from '@jest/globals';
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeApi, sandboxOf } from '@moat/sdk/testing';
import { scratchDirs } from '@moat/test-support';
import { runMoat } from '../testing/run-cli';
import { parseCopyEnd } from './cp.command';

const uploaded = { path: '/tmp/a.txt', name: 'a.txt', type: 'file', size: 5, mode: 0o640, uid: 0, gid: 0, mtimeMs: 0 };

describe('moat cp', () => {
  const scratchDir = scratchDirs();
  it('tells sandbox paths from local ones', () => {
    expect(parseCopyEnd('sb-1:/tmp/a')).toEqual({ kind: 'sandbox', id: 'sb-1', path: '/tmp/a' });
    expect(parseCopyEnd('./sb-1:/tmp')).toEqual({ kind: 'local', path: './sb-1:/tmp' });
    expect(parseCopyEnd('C:relative')).toEqual({ kind: 'local', path: 'C:relative' });
  });

  it('copies a file in with its mode, streamed as the request body', async () => {
    const dir = scratchDir('moat-cp-');
    writeFileSync(join(dir, 'a.txt'), 'hello');
    chmodSync(join(dir, 'a.txt'), 0o640);
    const api = new FakeApi()
      .reply('GET /v1/sandboxes/sb-1', { status: 200, body: sandboxOf({ id: 'sb-1' }) })
      .reply('PUT /v1/sandboxes/sb-1/files', { status: 201, body: uploaded });
    const run = await runMoat(['cp', join(dir, 'a.txt'), 'sb-1:/tmp/a.txt'], { api });
    expect(run).toEqual({ exitCode: 0, stdout: '', stderr: '5 bytes → sb-1:/tmp/a.txt\n' });
    const put = api.seen[1];
    expect(put.body).toBe('hello');
    expect(Object.fromEntries(put.query)).toEqual({ path: '/tmp/a.txt', mode: '0640' });
  });

  it('copies a file out, leaving nothing when the API refuses', async () => {
    const dir = scratchDir('moat-cp-');
    const api = new FakeApi()
      .reply('GET /v1/sandboxes/sb-1', { status: 200, body: sandboxOf({ id: 'sb-1' }) })
      .reply(
        'GET /v1/sandboxes/sb-1/files',
        { status: 200, text: 'bytes out' },
        { status: 404, body: { error: { code: 'FILE_NOT_FOUND', message: 'no such file or directory: /nope' } } },
      );
    const out = await runMoat(['cp', 'sb-1:/tmp/b', join(dir, 'b')], { api });
    expect(out.exitCode).toBe(0);
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('bytes out');
    const missing = await runMoat(['cp', 'sb-1:/nope', join(dir, 'c')], { api });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('FILE_NOT_FOUND');
    expect(readdirSync(dir)).toEqual(['b']);
  });

  it('refuses two local or two sandbox paths', async () => {
    const run = await runMoat(['cp', 'a', 'b']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('one side must be a sandbox path');
  });
});
