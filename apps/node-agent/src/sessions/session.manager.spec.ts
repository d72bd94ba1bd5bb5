import type { SessionExit, SessionOutput } from '@moat/proto';
import type { ProcessSession, SandboxRuntime } from '@moat/runtime-core';
import pino from 'pino';
import { describe, expect, it } from '@jest/globals';
import { eventually } from '@moat/test-support';
import { CountingActivity } from '../idle/testing/counting-activity';
import { SessionManager, type SessionSink } from './session.manager';

const SESSION = '1c1f3f9e-0a47-4b57-9b8b-2c0b3a1d9e01';
const SANDBOX = '6d6d24f4-d2ce-4ddf-af0d-93d70e07f125';

/** A process that prints two chunks, then exits 0 once stdin is closed; records what reaches it. */
class FakeSession {
  readonly written: string[] = [];
  resized: { rows: number; cols: number }[] = [];
  closed = false;
  private stdinClosed!: () => void;
  private readonly stdinDone = new Promise<void>((resolve) => (this.stdinClosed = resolve));

  async output(sink: (stream: 'stdout' | 'stderr', chunk: Buffer) => Promise<void> | void): Promise<void> {
    await sink('stdout', Buffer.from('one'));
    await sink('stdout', Buffer.from('two'));
    await this.stdinDone;
  }
  write(data: Buffer): Promise<void> {
    this.written.push(data.toString());
    return Promise.resolve();
  }
  closeStdin(): Promise<void> {
    this.stdinClosed();
    return Promise.resolve();
  }
  resize(window: { rows: number; cols: number }): Promise<void> {
    this.resized.push(window);
    return Promise.resolve();
  }
  signal(): Promise<void> {
    return Promise.resolve();
  }
  wait() {
    return Promise.resolve({ exitCode: 0, signal: 0, oomKilled: false, timedOut: false });
  }
  close(): Promise<void> {
    this.closed = true;
    this.stdinClosed();
    return Promise.resolve();
  }
}

function setup(ackDelayMs = 0, openSession?: () => Promise<ProcessSession>) {
  const fake = new FakeSession();
  const outputs: SessionOutput[] = [];
  const exits: SessionExit[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const sink: SessionSink = {
    output: async (output) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, ackDelayMs));
      outputs.push(output);
      inFlight -= 1;
    },
    exit: (exit) => exits.push(exit),
    error: () => undefined,
  };
  const runtime = { openSession: openSession ?? (() => Promise.resolve(fake as unknown as ProcessSession)) } as Pick<SandboxRuntime, 'openSession'>;
  const activity = new CountingActivity();
  const manager = new SessionManager(runtime, sink, pino({ level: 'silent' }), activity);
  return { fake, outputs, exits, manager, activity, maxInFlight: () => maxInFlight };
}

describe('SessionManager', () => {
  it('relays output in order, one acknowledged chunk at a time, then the exit', async () => {
    const { fake, outputs, exits, manager, maxInFlight } = setup(20);
    await manager.open({ sessionId: SESSION, sandboxId: SANDBOX });
    await manager.input(SESSION, Buffer.from('ls\n'));
    manager.resize(SESSION, { rows: 10, cols: 20 });
    manager.eof(SESSION);
    await eventually(() => expect(exits).toEqual([{ sessionId: SESSION, exitCode: 0, signal: 0, oomKilled: false, timedOut: false }]), { timeout: 1_000 });
    expect(outputs.map((o) => Buffer.from(o.data).toString())).toEqual(['one', 'two']);
    expect(maxInFlight()).toBe(1);
    expect(fake.written).toEqual(['ls\n']);
    expect(fake.resized).toEqual([{ rows: 10, cols: 20 }]);
  });

  it('kills the process when the client goes away, and refuses input to a closed session', async () => {
    const { fake, manager } = setup();
    await manager.open({ sessionId: SESSION, sandboxId: SANDBOX });
    manager.close(SESSION);
    await eventually(() => expect(fake.closed).toBe(true), { timeout: 1_000 });
    await expect(manager.input(SESSION, Buffer.from('x'))).rejects.toThrow(/no session/);
  });

  it('keeps its sandbox in use while the session is open, and no longer once it ended or failed to open', async () => {
    const { exits, manager, activity } = setup();
    await manager.open({ sessionId: SESSION, sandboxId: SANDBOX });
    expect(activity.holds.get(SANDBOX)).toBe(1);
    manager.eof(SESSION);
    await eventually(() => expect(exits).toHaveLength(1), { timeout: 1_000 });
    await eventually(() => expect(activity.holds.get(SANDBOX)).toBe(0), { timeout: 1_000 });

    const refused = setup(0, () => Promise.reject(new Error('sandbox is hibernated')));
    await expect(refused.manager.open({ sessionId: SESSION, sandboxId: SANDBOX })).rejects.toThrow('hibernated');
    expect(refused.activity.holds.get(SANDBOX)).toBe(0);
  });
});
