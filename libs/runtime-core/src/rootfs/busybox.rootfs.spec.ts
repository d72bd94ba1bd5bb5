import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { itIf } from '@moat/test-support';
import { RuntimeErrorCode } from '../errors/runtime.errors';
import { NodeProcessAdapter } from '../host/process.adapter';
import { BusyboxRootfs, HIDDEN_WGET_APPLET, HOST_BUSYBOX, hideWgetApplet, wgetScript } from './busybox.rootfs';

describe('BusyboxRootfs', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rootfs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lays out busybox with applet links that resolve inside the tree', async () => {
    const root = join(dir, 'rootfs');
    await new BusyboxRootfs(new NodeProcessAdapter()).prepare(root);
    expect(statSync(join(root, 'bin/busybox')).mode & 0o111).not.toBe(0);
    for (const applet of ['bin/sh', 'usr/bin/env', 'bin/uname']) {
      const link = join(root, applet);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(resolve(dirname(link), readlinkSync(link))).toBe(join(root, 'bin/busybox'));
    }
    expect(statSync(join(root, 'tmp')).mode & 0o7777).toBe(0o1777);
    // busybox lists wget at usr/bin/wget; there it is the wrapper script, not a link, and the
    // rootfs's busybox knows the applet by another name only, so its shell finds the script.
    expect(lstatSync(join(root, 'usr/bin/wget')).isFile()).toBe(true);
    expect(statSync(join(root, 'usr/bin/wget')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(root, 'usr/bin/wget'), 'utf8')).toBe(wgetScript('/bin/busybox', HIDDEN_WGET_APPLET));
    expect(wgetScript()).toMatch(/^#!\/bin\/sh\n[^]*^bb=\/bin\/busybox$/m);
    const rootBusybox = (...args: string[]) => spawnSync(join(root, 'bin/busybox'), args, { encoding: 'utf8' });
    expect(rootBusybox('wget', '--help').stderr).toMatch(/applet not found/);
    expect(rootBusybox(HIDDEN_WGET_APPLET, '--help').stderr).toMatch(/Usage: wgeT/);
    const found = spawnSync(join(root, 'bin/busybox'), ['sh', '-c', 'command -v wget'], { encoding: 'utf8', env: { PATH: join(root, 'usr/bin') } });
    expect(found.stdout.trim()).toBe(join(root, 'usr/bin/wget'));
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toMatch(/^root:x:0:0:/);
  });

  it('renames wget in the applet name table only where its neighbours say it is, and only once', () => {
    const names = ['wc', 'wget', 'which'];
    const table = Buffer.from('\0[[\0wc\0wget\0which\0who\0');
    expect(hideWgetApplet(table, names)?.toString()).toBe(`\0[[\0wc\0${HIDDEN_WGET_APPLET}\0which\0who\0`);
    expect(table.toString()).toContain('\0wget\0');
    expect(hideWgetApplet(Buffer.concat([table, table]), names)).toBeUndefined();
    expect(hideWgetApplet(Buffer.from('\0wc\0wget\0whoami\0'), names)).toBeUndefined();
    expect(hideWgetApplet(table, ['wc', 'which'])).toBeUndefined();
    // A name busybox's ordered lookup would not reach is no use.
    expect(hideWgetApplet(Buffer.from('\0wgeU\0wget\0which\0'), ['wgeU', 'wget', 'which'])).toBeUndefined();
  });

  it('wraps a failure with the rootfs path', async () => {
    await expect(new BusyboxRootfs(new NodeProcessAdapter(), join(dir, 'no-busybox')).prepare(join(dir, 'r'))).rejects.toMatchObject({
      code: RuntimeErrorCode.ROOTFS_FAILED,
      message: expect.stringContaining(join(dir, 'r')),
    });
  });
});

/** What a shell sees when it runs the wrapper: its output and `$?`. */
interface WgetRun {
  stdout: string;
  stderr: string;
  status: number;
  ms: number;
}

// The wrapper as the rootfs has it, but run with this host's busybox (the one the rootfs copies)
// against servers of this test process on 127.0.0.1.
describe('the rootfs wget wrapper', () => {
  let dir: string;
  let script: string;
  let silent: Server;
  let http: HttpServer;
  const held: Socket[] = [];
  let silentUrl: string;
  let httpUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wget-'));
    script = join(dir, 'wget');
    writeFileSync(script, wgetScript(HOST_BUSYBOX, 'wget'), { mode: 0o755 });
    // Accepts and never answers: a download that can only end by its timeout.
    silent = createServer((socket) => held.push(socket));
    http = createHttpServer((req, res) => res.end(`hello ${req.headers['x-test']?.toString() ?? ''}\n`));
    silent.listen(0, '127.0.0.1');
    http.listen(0, '127.0.0.1');
    await Promise.all([once(silent, 'listening'), once(http, 'listening')]);
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
    httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    http.closeAllConnections();
    await Promise.all([new Promise((done) => silent.close(done)), new Promise((done) => http.close(done))]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `argv` from a shell, which reports its `$?`. */
  async function run(argv: string[]): Promise<WgetRun> {
    const started = Date.now();
    const child = spawn(HOST_BUSYBOX, ['sh', '-c', '"$@"; echo "status $?" >&2', 'sh', ...argv]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await once(child, 'close');
    const status = /status (\d+)\n$/.exec(stderr);
    if (!status) throw new Error(`no status from the shell: ${stderr}`);
    return { stdout, stderr: stderr.slice(0, status.index), status: Number(status[1]), ms: Date.now() - started };
  }
  const wget = (...args: string[]): Promise<WgetRun> => run([HOST_BUSYBOX, 'sh', script, ...args]);

  it.concurrent.each([[['-T', '1']], [['-T1']], [['--timeout', '1']], [['--timeout=1']], [['-qT', '1', '-t', '2']], [['--tries=2', '-qT1']]])(
    'ends a download that gets no answer when %j runs out, with status 143 (SIGTERM)',
    async (timeout) => {
      const run = await wget(...timeout, '-O-', silentUrl);
      expect(run.status).toBe(143);
      expect(run.stderr).not.toMatch(/unrecognized option|Segmentation fault/);
      expect(run.ms).toBeGreaterThanOrEqual(900);
      expect(run.ms).toBeLessThan(4_000);
    },
  );

  it('downloads within its timeout, dropping GNU’s --tries and passing every other argument as it came', async () => {
    const header = 'X-Test: a  b * $HOME "q" \'s\'';
    const output = join(dir, 'out file *.txt');
    const run = await wget('-q', '-T', '5', '-t', '3', '--tries=3', '--header', header, '-O', output, httpUrl);
    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(readFileSync(output, 'utf8')).toBe('hello a  b * $HOME "q" \'s\'\n');
  });

  it('runs busybox wget as it is without a timeout, or with -T 0 (none, as in GNU wget)', async () => {
    expect(await wget('-q', '-O-', '--header', 'X-Test: plain', httpUrl)).toMatchObject({ status: 0, stdout: 'hello plain\n' });
    expect(await wget('-q', '-T', '0', '-O', '-', httpUrl)).toMatchObject({ status: 0, stdout: 'hello \n' });
  });

  it('refuses a timeout that is not a number of seconds', async () => {
    const run = await wget('-T', '5s', '-O-', httpUrl);
    expect(run).toMatchObject({ status: 1, stdout: '', stderr: "wget: invalid timeout '5s'\n" });
    expect((await wget('-O-', httpUrl, '--timeout')).stderr).toMatch(/needs a value/);
  });

  // The rootfs's own busybox and its shell, which run a wget applet without a PATH lookup when
  // they can re-execute themselves through /proc/self/exe, as in a container.
  itIf(process.getuid?.() === 0)('is what `sh -c wget` runs inside the rootfs, and times out as pid 1 too (chroot with /proc, as root)', async () => {
    const root = join(dir, 'rootfs');
    await new BusyboxRootfs(new NodeProcessAdapter()).prepare(root);
    const inRootfs = (command: string): Promise<WgetRun> =>
      // util-linux's, by path: `run`'s busybox shell would pick its own applets.
      run(['/usr/bin/unshare', '--mount', '--pid', '--fork', `--mount-proc=${join(root, 'proc')}`, '/usr/sbin/chroot', root, '/usr/bin/env', '-i', 'PATH=/usr/bin:/bin', '/bin/sh', '-c', command]);
    const [timedOut, refused, served] = await Promise.all([
      inRootfs(`wget -T 1 -O- ${silentUrl}`),
      inRootfs('wget -T 2 -O- http://127.0.0.1:1/'),
      inRootfs(`wget -q --timeout=5 -O- ${httpUrl}`),
    ]);
    expect(timedOut).toMatchObject({ status: 143 });
    expect(refused).toMatchObject({ status: 1, stderr: expect.stringContaining('Connection refused') as unknown });
    expect(served).toMatchObject({ status: 0, stdout: 'hello \n' });
  });
});
