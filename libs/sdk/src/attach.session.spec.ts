import { afterEach, describe, expect, it } from '@jest/globals';
import { MAX_SESSION_CHUNK_BYTES } from '@moat/proto/attach';
import { eventually } from '@moat/test-support';
import type { AttachOutput } from './attach-output.queue';
import { AttachSession } from './attach.session';
import { Moat } from './moat.client';
import { MoatAttachError } from './moat.error';
import { FakeApi, FakeAttachServer, sandboxOf, type FakeAttachServerOptions } from './testing';

const TOKEN = 'tenant-key';
const SANDBOX_ID = sandboxOf().id;

let server: FakeAttachServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function serve(options: Partial<FakeAttachServerOptions> = {}): Promise<FakeAttachServer> {
  server = await FakeAttachServer.start({ token: TOKEN, ...options });
  return server;
}

async function attached(fake: FakeAttachServer, token = TOKEN): Promise<AttachSession> {
  return AttachSession.start({ apiUrl: fake.url, token }, { sandboxId: SANDBOX_ID, tty: false });
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

/** Whether `promise` is still unsettled after a moment. */
async function isPending(promise: Promise<unknown>, ms = 100): Promise<boolean> {
  const pending = Symbol('pending');
  return (await Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve(pending), ms))])) === pending;
}

function text({ stream, data }: AttachOutput): string {
  return `${stream}:${Buffer.from(data).toString()}`;
}

describe('sandbox.attach', () => {
  it("starts the process in the sandbox with the client's URL and token, and relays its output and exit", async () => {
    const fake = await serve();
    const moat = new Moat({ apiUrl: fake.url, token: TOKEN, fetch: new FakeApi().reply(`GET /v1/sandboxes/${SANDBOX_ID}`, { status: 200, body: sandboxOf({ state: 'running' }) }).fetch });
    const sandbox = await moat.sandboxes.get(SANDBOX_ID);
    const attaching = sandbox.attach({ command: ['sh', '-c', 'echo hi'], tty: true, window: { rows: 24, cols: 80 }, env: { A: '1' }, cwd: '/tmp' });
    const remote = await fake.session();
    const session = await attaching;
    expect(remote.request).toEqual({ sandboxId: SANDBOX_ID, command: ['sh', '-c', 'echo hi'], tty: true, window: { rows: 24, cols: 80 }, env: { A: '1' }, cwd: '/tmp' });

    const played = (async () => {
      await remote.output('stdout', 'hi\n');
      await remote.output('stderr', 'warn\n');
      remote.exit({ exitCode: 3 });
    })();
    const outputs: string[] = [];
    for await (const output of session.output) {
      expect(output.data).toBeInstanceOf(Uint8Array);
      outputs.push(text(output));
    }
    await played;
    expect(outputs).toEqual(['stdout:hi\n', 'stderr:warn\n']);
    expect(await session.exit).toEqual({ exitCode: 3, signal: 0, oomKilled: false, timedOut: false });
  });

  it('writes in chunks of at most MAX_SESSION_CHUNK_BYTES, in order, then the end of input, resizes and signals', async () => {
    const fake = await serve();
    const session = await attached(fake);
    const remote = await fake.session();
    const big = 'x'.repeat(MAX_SESSION_CHUNK_BYTES + 10);
    // Not awaited one by one: the session keeps the order of the calls.
    await Promise.all([session.write('one '), session.write(new TextEncoder().encode(big)), session.end()]);
    session.resize({ rows: 50, cols: 132 });
    session.signal(2);
    await eventually(() => expect(remote.events).toHaveLength(6));
    expect(remote.events.map((event) => ('input' in event ? { bytes: event.input.length } : event))).toEqual([
      { bytes: 4 },
      { bytes: MAX_SESSION_CHUNK_BYTES },
      { bytes: 10 },
      { eof: true },
      { resize: { rows: 50, cols: 132 } },
      { signal: 2 },
    ]);
    expect(remote.input).toBe(`one ${big}`);
  });

  it('acknowledges a chunk only when the consumer asks for the next: a slow consumer holds the process up', async () => {
    const fake = await serve();
    const session = await attached(fake);
    const remote = await fake.session();
    const first = remote.output('stdout', 'a');
    const taken = await session.output.next();
    expect(taken.value && text(taken.value)).toBe('stdout:a');
    expect(await isPending(first)).toBe(true);

    const next = session.output.next();
    await first;
    const second = remote.output('stdout', 'b');
    expect((await next).value?.data).toEqual(new Uint8Array([0x62]));
    expect(await isPending(second)).toBe(true);
    await session.output.return();
    await second;
  });

  it('stopping the loop lets later output through unread, and the exit still comes', async () => {
    const fake = await serve();
    const session = await attached(fake);
    const remote = await fake.session();
    const played = (async () => {
      for (const chunk of ['a', 'b', 'c']) await remote.output('stdout', chunk);
      remote.exit({ exitCode: 0 });
    })();
    for await (const output of session.output) {
      expect(text(output)).toBe('stdout:a');
      break;
    }
    await played;
    expect((await session.exit).exitCode).toBe(0);
  });

  it("rejects with the server's code when the start is refused, and closes the connection", async () => {
    const fake = await serve({ refuseStart: { code: 'SANDBOX_NOT_RUNNING', message: 'sandbox is pending' } });
    const err = await rejectionOf(attached(fake));
    expect(err).toBeInstanceOf(MoatAttachError);
    expect(err).toMatchObject({ code: 'SANDBOX_NOT_RUNNING', message: 'sandbox is pending' });
    await eventually(() => expect(fake.connections).toBe(0));
  });

  it('says UNAUTHENTICATED for a refused token and CONNECT_FAILED with the reason for no server', async () => {
    const fake = await serve();
    await expect(attached(fake, 'wrong')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const url = fake.url;
    await fake.stop();
    await expect(AttachSession.start({ apiUrl: url, token: TOKEN }, { sandboxId: SANDBOX_ID })).rejects.toMatchObject({
      code: 'CONNECT_FAILED',
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it("rejects exit with the server's code on attach:error, and ends the output", async () => {
    const fake = await serve();
    const session = await attached(fake);
    const remote = await fake.session();
    remote.error({ code: 'EXEC_FAILED', message: 'the guest went away' });
    const err = await rejectionOf(session.exit);
    expect(err).toBeInstanceOf(MoatAttachError);
    expect(err).toMatchObject({ code: 'EXEC_FAILED', message: 'the guest went away' });
    expect(await session.output.next()).toEqual({ done: true, value: undefined });
    await eventually(() => expect(remote.disconnected).toBe(true));
  });

  it("rejects a write with the server's code when the input is refused", async () => {
    const fake = await serve({ refuseInput: { code: 'VALIDATION_FAILED', message: 'no session started' } });
    const session = await attached(fake);
    await expect(session.write('x')).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: 'no session started' });
  });

  it('rejects exit and further writes with CONNECTION_LOST when the connection drops', async () => {
    const fake = await serve();
    const session = await attached(fake);
    (await fake.session()).drop();
    await expect(session.exit).rejects.toMatchObject({ code: 'CONNECTION_LOST' });
    await expect(session.write('x')).rejects.toMatchObject({ code: 'CONNECTION_LOST' });
  });

  it('close() disconnects, which kills the process, and rejects exit with CLOSED', async () => {
    const fake = await serve();
    const session = await attached(fake);
    const remote = await fake.session();
    session.close();
    await eventually(() => expect(remote.disconnected).toBe(true));
    await expect(session.exit).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
