import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, type IPty } from '@lydell/node-pty';
import { FakeAttachServer, sandboxOf, type FakeAttachSession } from '@moat/sdk/testing';
import { eventually } from '@moat/test-support';

/** The CLI as its users run it: the built dist/moat.js (the integration target builds it first). */
const CLI = join(__dirname, '../../dist/moat.js');
const TOKEN = 'moat_pty-test';
const SANDBOX = sandboxOf({ state: 'running' });

/** A shell on a pseudo-terminal that runs moat attach, then says moat's exit code and the terminal's modes. */
interface Terminal {
  pty: IPty;
  screen: () => string;
  exited: Promise<number>;
}

/** The fake control plane: its REST answers the sandbox, its /attach namespace plays the process. */
function fakeControlPlane(): Promise<FakeAttachServer> {
  return FakeAttachServer.start({
    token: TOKEN,
    rest: (_request, response) => response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(SANDBOX)),
  });
}

function cliEnv(server: FakeAttachServer): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/', MOAT_API_URL: server.url, MOAT_TOKEN: TOKEN };
}

// The built CLI on a real pseudo-terminal (node-pty) against a fake control plane in this
// process: its REST answers the sandbox, its /attach namespace plays the process.
describe('moat attach on a pseudo-terminal', () => {
  let server: FakeAttachServer;
  afterEach(() => server?.stop());

  async function attachOnPty(): Promise<{ terminal: Terminal; session: FakeAttachSession }> {
    server = await fakeControlPlane();
    const script = `"${process.execPath}" "${CLI}" attach ${SANDBOX.id}; echo "moat-exit=$?"; stty -a`;
    const pty = spawn('sh', ['-c', script], {
      name: 'xterm',
      cols: 80,
      rows: 24,
      env: cliEnv(server),
    });
    let screen = '';
    pty.onData((data) => (screen += data));
    const exited = new Promise<number>((resolve) => pty.onExit(({ exitCode }) => resolve(exitCode)));
    return { terminal: { pty, screen: () => screen, exited }, session: await server.session() };
  }

  /**
   * After moat: its exit code, and the terminal back in canonical mode with echo, as its user
   * needs it. (Node resets the terminal at exit too; attach.command.spec checks that moat leaves
   * raw mode itself, before it prints and on every ending.)
   */
  async function expectRestored(terminal: Terminal, exitCode: number): Promise<void> {
    expect(await terminal.exited).toBe(0);
    expect(terminal.screen()).toContain(`moat-exit=${exitCode}`);
    const modes = terminal.screen().slice(terminal.screen().indexOf('moat-exit='));
    expect(modes).toMatch(/(^|\s)icanon(\s|$)/m);
    expect(modes).toMatch(/(^|\s)echo(\s|$)/m);
  }

  it('runs a TTY of the window size in raw mode, follows resizes, shows output and detaches on ctrl-p,ctrl-q', async () => {
    const { terminal, session } = await attachOnPty();
    expect(session.request).toEqual({ sandboxId: SANDBOX.id, tty: true, window: { rows: 24, cols: 80 } });

    // moat relays output once its session started and the terminal is raw: keys typed before
    // that would still be cooked (^C a signal), so the test waits for the first output.
    await session.output('stdout', 'ready\r\n');
    await eventually(() => expect(terminal.screen()).toContain('ready'));
    // Raw mode: a key arrives on its own, no Enter needed, and ^C is a byte, not a signal to moat.
    terminal.pty.write('x\x03');
    await eventually(() => expect(session.input).toBe('x\x03'));
    terminal.pty.resize(132, 50);
    await eventually(() => expect(session.events).toContainEqual({ resize: { rows: 50, cols: 132 } }));
    await session.output('stdout', 'hello from the sandbox\r\n');
    await eventually(() => expect(terminal.screen()).toContain('hello from the sandbox'));

    terminal.pty.write('\x10\x11');
    await expectRestored(terminal, 0);
    expect(terminal.screen()).toContain('moat: detached');
    expect(session.input).toBe('x\x03');
    await eventually(() => expect(session.disconnected).toBe(true));
  });

  it("exits with the process's exit code, the terminal restored", async () => {
    const { terminal, session } = await attachOnPty();
    session.exit({ exitCode: 5 });
    await expectRestored(terminal, 5);
  });
});

describe('moat attach with piped stdin', () => {
  let server: FakeAttachServer;
  afterEach(() => server?.stop());

  it('streams stdin and its end, keeps stdout and stderr apart, and exits with the code once the process did', async () => {
    server = await fakeControlPlane();
    const run = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [CLI, 'attach', SANDBOX.id, '--', 'cat'], { env: cliEnv(server) }, (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      );
      child.stdin?.end('piped\n');
    });
    const session = await server.session();
    expect(session.request).toEqual({ sandboxId: SANDBOX.id, tty: false, command: ['cat'] });
    await eventually(() => expect(session.events).toEqual([{ input: 'piped\n' }, { eof: true }]));
    await session.output('stdout', 'piped\n');
    await session.output('stderr', 'done\n');
    session.exit({ exitCode: 3 });
    expect(await run).toEqual({ code: 3, stdout: 'piped\n', stderr: 'done\n' });
  });
});
