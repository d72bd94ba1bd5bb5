import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from '@jest/globals';
import { FakeApi, FakeAttachServer, sandboxOf, type FakeAttachServerOptions, type FakeAttachSession } from '@moat/sdk/testing';
import { eventually, scratchDirs, testCertificates } from '@moat/test-support';
import { ExitCode } from '../errors/exit-codes';
import { FakeTerminal } from '../testing/fake-terminal';
import { FAKE_TOKEN, runMoat } from '../testing/run-cli';

const ID = sandboxOf().id;

let server: FakeAttachServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** `moat attach <args>` against a fake API (the sandbox is running) and a fake /attach namespace. */
async function attach(args: string[], terminal: FakeTerminal, options: Partial<FakeAttachServerOptions> = {}, env: NodeJS.ProcessEnv = {}) {
  server = await FakeAttachServer.start({ token: FAKE_TOKEN, ...options });
  const api = new FakeApi().reply(`GET /v1/sandboxes/${ID}`, { status: 200, body: sandboxOf({ state: 'running' }) });
  const run = runMoat(['attach', ...args], { api, terminal, env: { MOAT_API_URL: server.url, MOAT_TOKEN: FAKE_TOKEN, ...env } });
  return { run, server };
}

/** The session once moat reads the terminal. */
async function started(fake: FakeAttachServer, terminal: FakeTerminal): Promise<FakeAttachSession> {
  const session = await fake.session();
  await eventually(() => expect(terminal.reading).toBe(true));
  return session;
}

describe('moat attach', () => {
  const scratchDir = scratchDirs();
  it('without a TTY streams stdin and its end to the process, stdout and stderr apart, and exits with its code', async () => {
    const terminal = new FakeTerminal({ stdinIsTty: false });
    const { run, server } = await attach([ID, '--cwd', '/tmp', '--env', 'A=1', '--', 'sh', '-c', 'cat; exit 7'], terminal);
    const session = await started(server, terminal);
    expect(session.request).toEqual({ sandboxId: ID, tty: false, command: ['sh', '-c', 'cat; exit 7'], cwd: '/tmp', env: { A: '1' } });

    await terminal.type('hello\n');
    terminal.endInput();
    await eventually(() => expect(session.events).toEqual([{ input: 'hello\n' }, { eof: true }]));
    await session.output('stdout', 'hello\n');
    await session.output('stderr', 'warning\n');
    session.exit({ exitCode: 7 });
    expect(await run).toEqual({ exitCode: 7, stdout: 'hello\n', stderr: 'warning\n' });
    expect(terminal.rawModes).toEqual([]);
  });

  it('--no-tty keeps a terminal stdin out of raw mode and asks for no TTY', async () => {
    const terminal = new FakeTerminal({ stdinIsTty: true, size: { rows: 24, cols: 80 } });
    const { run, server } = await attach([ID, '--no-tty', '--', 'true'], terminal);
    const session = await started(server, terminal);
    expect(session.request).toEqual({ sandboxId: ID, tty: false, command: ['true'] });
    session.exit();
    expect((await run).exitCode).toBe(0);
    expect(terminal.rawModes).toEqual([]);
  });

  it("on a terminal runs the server's default shell on a TTY of the window's size, in raw mode, following resizes", async () => {
    const terminal = new FakeTerminal({ stdinIsTty: true, size: { rows: 24, cols: 80 } });
    const { run, server } = await attach([ID], terminal);
    const session = await started(server, terminal);
    expect(session.request).toEqual({ sandboxId: ID, tty: true, window: { rows: 24, cols: 80 } });
    expect(terminal.rawModes).toEqual([true]);

    terminal.resize({ rows: 50, cols: 132 });
    await terminal.type('\x03');
    await eventually(() => expect(session.events).toEqual([{ resize: { rows: 50, cols: 132 } }, { input: '\x03' }]));
    await session.output('stdout', '$ ');
    session.exit({ exitCode: 0, signal: 9 });
    expect(await run).toEqual({ exitCode: 128 + 9, stdout: '$ ', stderr: '' });
    expect(terminal.rawModes).toEqual([true, false]);
  });

  it('detaches on ctrl-p,ctrl-q, exit 0, passing on what came before and nothing of the keys', async () => {
    const terminal = new FakeTerminal({ stdinIsTty: true, size: { rows: 24, cols: 80 } });
    const { run, server } = await attach([ID], terminal);
    const session = await started(server, terminal);
    await terminal.type('ls\x10');
    await terminal.type('\x11');
    const { exitCode, stderr } = await run;
    expect({ exitCode, stderr }).toEqual({ exitCode: ExitCode.OK, stderr: '\nmoat: detached; the session and its process have ended\n' });
    expect(session.input).toBe('ls');
    expect(terminal.rawModes).toEqual([true, false]);
    await eventually(() => expect(session.disconnected).toBe(true));
  });

  it('takes other detach keys, and refuses what is not a key with exit 2', async () => {
    const terminal = new FakeTerminal({ stdinIsTty: true });
    const { run, server } = await attach([ID, '--detach-keys', 'ctrl-a,d'], terminal);
    await started(server, terminal);
    await terminal.type('\x01d');
    expect((await run).exitCode).toBe(ExitCode.OK);

    const refused = await runMoat(['attach', ID, '--detach-keys', 'ctrl-1']);
    expect(refused.exitCode).toBe(ExitCode.USAGE);
    expect(refused.stderr).toContain('"ctrl-1" is not a key');
  });

  it('ends on SIGTERM with 128+15, the terminal restored and the session closed', async () => {
    const terminal = new FakeTerminal({ stdinIsTty: true });
    const { run, server } = await attach([ID], terminal);
    const session = await started(server, terminal);
    terminal.signal('SIGTERM');
    expect((await run).exitCode).toBe(128 + 15);
    expect(terminal.rawModes).toEqual([true, false]);
    await eventually(() => expect(session.disconnected).toBe(true));
  });

  it("exits 1 with the server's code in words when the session fails, the terminal restored", async () => {
    const terminal = new FakeTerminal({ stdinIsTty: true });
    const { run, server } = await attach([ID], terminal);
    (await started(server, terminal)).error({ code: 'EXEC_FAILED', message: 'the guest agent went away' });
    expect(await run).toEqual({ exitCode: ExitCode.API_ERROR, stdout: '', stderr: 'moat: EXEC_FAILED: the guest agent went away\n' });
    expect(terminal.rawModes).toEqual([true, false]);
  });

  it('exits 1 when the start is refused, never touching the terminal', async () => {
    const terminal = new FakeTerminal({ stdinIsTty: true });
    const { run } = await attach([ID], terminal, { refuseStart: { code: 'SANDBOX_NOT_RUNNING', message: 'sandbox is stopping' } });
    expect(await run).toEqual({ exitCode: ExitCode.API_ERROR, stdout: '', stderr: 'moat: SANDBOX_NOT_RUNNING: sandbox is stopping\n' });
    expect(terminal.rawModes).toEqual([]);
  });

  it('connects over https trusting MOAT_TLS_CA, like the REST calls', async () => {
    const certs = testCertificates(scratchDir('moat-cli-attach-ca-'));
    const terminal = new FakeTerminal();
    const tls = { cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) };
    const { run, server } = await attach([ID, '--', 'true'], terminal, { tls }, { MOAT_TLS_CA: certs.caFile });
    expect(server.url).toMatch(/^https:/);
    (await started(server, terminal)).exit({ exitCode: 0 });
    expect((await run).exitCode).toBe(0);
  });

  it('says in --help that detaching ends the session and its process', async () => {
    const help = (await runMoat(['attach', '--help'])).stdout;
    expect(help).toContain('--detach-keys <keys>');
    expect(help).toContain('(default: ctrl-p,ctrl-q)');
    expect(help).toMatch(/does not outlive its\s+connection/);
  });
});
