import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn as spawnPty } from '@lydell/node-pty';
import { Moat, MoatApiError } from '@moat/sdk';
import { ADMIN_TOKEN, API_URL, api, waitFor } from '../support/api';
import { CLI_PATH, MoatCli } from '../support/cli';
import { newTenantKey, sandboxGone } from '../support/sandboxes';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
/** The sandbox's main process: a numbered line a second, forever. */
const TICKER = ['sh', '-c', 'i=0; while :; do echo "line $i"; i=$((i+1)); sleep 1; done'];

// The built CLI as a user runs it, logged in as a tenant of its own, against the real stack.
describe('the moat CLI against a real stack and a real VM', () => {
  let key: string;
  let sandboxId: string;
  const cli = new MoatCli();
  const home = cli.home;
  const moat = cli.run.bind(cli);

  beforeAll(async () => {
    key = await newTenantKey('cli-e2e');
    expect(await cli.login(key)).toMatchObject({ status: 0 });
    expect(statSync(join(home, '.config', 'moat', 'config.json')).mode & 0o777).toBe(0o600);
    const created = await moat(['sandbox', 'create', '--vcpus', '1', '--memory', '128', '--wait', '-q', '--', ...TICKER]);
    expect(created).toMatchObject({ status: 0, stderr: '' });
    sandboxId = created.stdout.trim();
    expect(sandboxId).toMatch(/^[0-9a-f-]{36}$/);
  });

  afterAll(async () => {
    if (sandboxId) {
      await api('DELETE', `/v1/sandboxes/${sandboxId}`, { token: key });
      await sandboxGone(sandboxId, key);
    }
    cli.dispose();
  });

  it('lists the sandbox as JSON and passes the exit code of exec through', async () => {
    const listed = await moat(['-o', 'json', 'sandbox', 'ls']);
    expect(listed.status).toBe(0);
    expect((JSON.parse(listed.stdout) as { id: string; state: string }[]).map(({ id, state }) => ({ id, state }))).toEqual([{ id: sandboxId, state: 'running' }]);
    expect(await moat(['exec', sandboxId, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({ status: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('copies a 20 MB file in and back out unchanged, with its mode', async () => {
    const data = randomBytes(20 * 1024 * 1024);
    const local = join(home, 'in.bin');
    writeFileSync(local, data, { mode: 0o640 });
    const copiedIn = await moat(['cp', local, `${sandboxId}:/tmp/data/in.bin`], { timeoutMs: 600_000 });
    expect(copiedIn).toMatchObject({ status: 0 });
    const inside = await moat(['exec', sandboxId, '--', 'sh', '-c', 'sha256sum /tmp/data/in.bin; stat -c %a /tmp/data/in.bin']);
    expect(inside.stdout).toBe(`${sha256(data)}  /tmp/data/in.bin\n640\n`);
    const back = join(home, 'back.bin');
    expect(await moat(['cp', `${sandboxId}:/tmp/data/in.bin`, back], { timeoutMs: 600_000 })).toMatchObject({ status: 0 });
    expect(sha256(readFileSync(back))).toBe(sha256(data));
  });

  it('refuses hostile paths with the right status and writes nothing outside the container', async () => {
    const files = `/v1/sandboxes/${sandboxId}/files`;
    const put = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${API_URL}${files}?path=${encodeURIComponent(path)}`, { method: 'PUT', headers: { authorization: `Bearer ${key}`, ...headers }, body: 'evil' });
    const get = (path: string) => fetch(`${API_URL}${files}?path=${encodeURIComponent(path)}`, { headers: { authorization: `Bearer ${key}` } });

    expect((await get('../../etc/passwd')).status).toBe(400);
    expect((await put('/tmp/../../evil')).status).toBe(400);
    expect((await moat(['exec', sandboxId, '--', 'ln', '-s', '/proc/1/root', '/tmp/escape'])).status).toBe(0);
    const through = await get('/tmp/escape/etc/passwd');
    expect(through.status).toBe(400);
    expect(((await through.json()) as { error: { code: string } }).error.code).toBe('FILE_PATH_INVALID');
    expect((await put('/tmp/escape/evil')).status).toBe(400);
    // A 2 GB upload is refused on its declared length, before any byte is read.
    expect(await declaredUpload(`${API_URL}${files}?path=/tmp/huge`, key, 2 * 1024 ** 3)).toMatchObject({ status: 413, code: 'FILE_TOO_LARGE' });
    expect(await moat(['exec', sandboxId, '--', 'sh', '-c', 'test ! -e /evil && test ! -e /tmp/huge && ls -a /tmp | grep -c moat-upload'])).toEqual({
      status: 1,
      stdout: '0\n',
      stderr: '',
    });
    expect((await get('/tmp/nothing-here')).status).toBe(404);
  });

  it('follows the main process\'s output with logs -f, and prints the last lines as JSON', async () => {
    const follower = cli.start(['logs', '-f', sandboxId]);
    let out = '';
    follower.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      // Lines keep coming while it follows: at least three more after the first one seen.
      const first = await waitFor('a first line', () => Promise.resolve(/line (\d+)/.exec(out)?.[1]), 60_000);
      await waitFor('three lines more', () => Promise.resolve(out.includes(`line ${Number(first) + 3}\n`) ? true : undefined), 60_000);
      const numbers = [...out.matchAll(/line (\d+)/g)].map((match) => Number(match[1]));
      expect(numbers).toEqual(numbers.map((_, i) => numbers[0] + i));
    } finally {
      follower.kill();
    }
    const tail = await moat(['-o', 'json', 'logs', '--tail', '3', sandboxId]);
    expect(tail.status).toBe(0);
    const entries = tail.stdout.trim().split('\n').map((line) => JSON.parse(line) as { stream: string; text: string; time: string });
    expect(entries.map(({ text }) => text).join('')).toMatch(/^(line \d+\n){3}$/);
    expect(entries.every(({ stream, time }) => stream === 'stdout' && !Number.isNaN(Date.parse(time)))).toBe(true);
  });

  it('attaches a shell on a real terminal: keys, a resize seen by stty size, the exit code', async () => {
    const terminal = spawnPty(process.execPath, [CLI_PATH, 'attach', sandboxId], { cols: 80, rows: 24, env: cli.env });
    let screen = '';
    terminal.onData((data) => (screen += data));
    const exited = new Promise<number>((resolveExit) => terminal.onExit(({ exitCode }) => resolveExit(exitCode)));
    const sees = (text: RegExp) => waitFor(`the terminal to show ${text}`, () => Promise.resolve(text.test(screen) ? true : undefined), 60_000);
    terminal.write('stty size\r');
    await sees(/24 80/);
    terminal.resize(100, 30);
    // The resize and the next keys take separate ways to the guest (a signal to moat, then its
    // own message; a separate call on the node): ask again until the new size is in.
    await waitFor('stty size to say 30 100', async () => {
      terminal.write('stty size\r');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return /30 100/.test(screen) ? true : undefined;
    }, 60_000);
    terminal.write('exit 3\r');
    expect(await exited).toBe(3);
  });
  it('lets an operator drain the node and make it schedulable again, in JSON', async () => {
    const admin = new MoatCli();
    try {
      expect((await admin.login(ADMIN_TOKEN)).status).toBe(0);
      const nodes = JSON.parse((await admin.run(['-o', 'json', 'node', 'ls'])).stdout) as { id: string; state: string }[];
      expect(nodes).toHaveLength(1);
      const drained = await admin.run(['-o', 'json', 'node', 'drain', nodes[0].id]);
      expect(drained.status).toBe(0);
      expect(JSON.parse(drained.stdout)).toMatchObject({ id: nodes[0].id, state: 'draining' });
      // A sandbox created directly keeps running on a draining node.
      expect((await moat(['exec', sandboxId, '--', 'true'])).status).toBe(0);
      expect(JSON.parse((await admin.run(['-o', 'json', 'node', 'uncordon', nodes[0].id])).stdout)).toMatchObject({ state: 'ready' });
    } finally {
      admin.dispose();
    }
  });
  it('serves the SDK the same sandbox: files both ways, a listing, logs, exec, typed errors', async () => {
    const sandbox = await new Moat({ apiUrl: API_URL, token: key }).sandboxes.get(sandboxId);
    const written = await sandbox.files.write('/tmp/sdk/note.txt', 'from the SDK\n', { mode: 0o600 });
    expect(written).toMatchObject({ path: '/tmp/sdk/note.txt', type: 'file', size: 13, mode: 0o600 });
    expect(Buffer.from(await sandbox.files.readBytes('/tmp/sdk/note.txt')).toString()).toBe('from the SDK\n');
    expect((await sandbox.files.list('/tmp/sdk')).entries.map(({ name, type }) => ({ name, type }))).toEqual([{ name: 'note.txt', type: 'file' }]);
    expect(await sandbox.exec(['cat', '/tmp/sdk/note.txt'])).toMatchObject({ exitCode: 0, stdout: 'from the SDK\n' });
    const chunks = [];
    for await (const chunk of sandbox.logs({ tail: 2 })) chunks.push(chunk);
    expect(chunks.map(({ text }) => text).join('')).toMatch(/^line \d+\nline \d+\n$/);
    const missing = await sandbox.files.readBytes('/tmp/sdk/none').catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(MoatApiError);
    expect(missing).toMatchObject({ status: 404, code: 'FILE_NOT_FOUND' });
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
