import { Metadata, Server, ServerCredentials, status, type handleUnaryCall } from '@grpc/grpc-js';
import { AgentServiceService, HealthCheckResponse_ServingStatus, HealthService, type AgentServiceServer, type HealthServer } from '@moat/proto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { eventually } from '@moat/test-support';
import { RuntimeErrorCode } from '../errors/runtime.errors';
import { AgentClient } from './agent.client';
import { DEFAULT_AGENT_LIMITS, type AgentLimits } from './agent.types';
import { unixAgentTransport } from '../testing/unix-agent-transport';

type Unary = handleUnaryCall<unknown, unknown>;
const ok = (value: unknown): Unary => (_call, callback) => callback(null, value);

/**
 * An in-process guest agent: each exec is a tiny state machine fed by WriteStdin and drained
 * by ReadStdout/ReadStderr. Tests override individual handlers to misbehave.
 */
function fakeAgent(overrides: Partial<Record<keyof AgentServiceServer, Unary>> = {}): { impl: AgentServiceServer; signals: number[] } {
  const signals: number[] = [];
  let stdin = Buffer.alloc(0);
  let closeStdin: () => void = () => undefined;
  const stdinClosed = new Promise<void>((resolve) => (closeStdin = resolve));
  let stdoutSent = false;
  let stderrSent = false;
  const impl = {
    createSandbox: ok({}),
    destroySandbox: ok({}),
    getGuestDetails: ok({ kernelRelease: '6.1.0-moat', agentVersion: '0.1.0', memTotalBytes: 0, cpus: 1, bootTimeUnixMs: 0 }),
    createContainer: ok({}),
    startContainer: ok({}),
    removeContainer: ok({}),
    execProcess: ok({}),
    // Starts the process and says it goes on: the streaming calls below are what these tests exercise.
    execSync: ((call: { request: { stdin: Uint8Array } }, callback: (e: null, v: unknown) => void) => {
      stdin = Buffer.from(call.request.stdin);
      closeStdin();
      callback(null, { complete: false, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) });
    }) as Unary,
    signalProcess: ((call: { request: { signal: number } }, callback: (e: null, v: unknown) => void) => {
      signals.push(call.request.signal);
      callback(null, {});
    }) as Unary,
    waitProcess: ok({ status: 3, signal: 0 }),
    writeStdin: ((call: { request: { data: Uint8Array } }, callback: (e: null, v: unknown) => void) => {
      stdin = Buffer.concat([stdin, call.request.data]);
      callback(null, { len: call.request.data.length });
    }) as Unary,
    closeStdin: ((_call: unknown, callback: (e: null, v: unknown) => void) => {
      closeStdin();
      callback(null, {});
    }) as Unary,
    // Echo stdin back upper-cased once stdin is closed; one chunk then EOF.
    readStdout: ((_call: unknown, callback: (e: null, v: unknown) => void) => {
      void stdinClosed.then(() => {
        const data = stdoutSent ? Buffer.alloc(0) : Buffer.from(stdin.toString().toUpperCase());
        stdoutSent = true;
        callback(null, { data });
      });
    }) as Unary,
    readStderr: ((_call: unknown, callback: (e: null, v: unknown) => void) => {
      const data = stderrSent ? Buffer.alloc(0) : Buffer.from('warn\n');
      stderrSent = true;
      callback(null, { data });
    }) as Unary,
    ...overrides,
  } as unknown as AgentServiceServer;
  return { impl, signals };
}

const INSTANCE = '0b6f2c1e-7d4a-4c3b-9e8f-1a2b3c4d5e6f';

const serving: HealthServer = {
  check: (_call, callback) => callback(null, { status: HealthCheckResponse_ServingStatus.SERVING, instance: INSTANCE }),
  version: (_call, callback) => callback(null, { grpcVersion: '1', agentVersion: '0.1.0' }),
};

describe('AgentClient', () => {
  let dir: string;
  let server: Server | undefined;
  let client: AgentClient | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agent-'));
  });
  afterEach(() => {
    client?.close();
    server?.forceShutdown();
    client = undefined;
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(agent: AgentServiceServer, health: HealthServer = serving, limits: Partial<AgentLimits> = {}): Promise<AgentClient> {
    const socketPath = join(dir, 'agent.sock');
    server = new Server();
    server.addService(AgentServiceService, agent);
    server.addService(HealthService, health);
    await new Promise<void>((resolve, reject) =>
      server!.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
    );
    client = new AgentClient(unixAgentTransport(socketPath), { ...DEFAULT_AGENT_LIMITS, ...limits });
    return client;
  }

  const exec = { containerId: 'c', execId: 'e', args: ['cat'], env: ['PATH=/bin'], cwd: '/' };

  it('runs a process: stdin in, both streams out, exit status back', async () => {
    const agent = await start(fakeAgent().impl);
    await agent.waitReady(5_000, () => Promise.resolve(undefined));
    const out = await agent.exec({ ...exec, stdin: Buffer.from('hello') });
    expect(out).toEqual({ exitCode: 3, signal: 0, stdout: Buffer.from('HELLO'), stderr: Buffer.from('warn\n'), timedOut: false, oomKilled: false });
  });

  it('takes a whole run from ExecSync when the guest answers it complete, in one round trip', async () => {
    const { impl } = fakeAgent({
      execSync: ok({ complete: true, exit: { status: 0, signal: 0, oomKilled: false, timedOut: false }, stdout: Buffer.from('out'), stderr: Buffer.alloc(0) }),
      readStdout: () => {
        throw new Error('no stream read after a complete ExecSync');
      },
    });
    const agent = await start(impl);
    await agent.waitReady(5_000, () => Promise.resolve(undefined));
    expect(await agent.exec({ ...exec, stdin: Buffer.from('x') })).toEqual({ exitCode: 0, signal: 0, stdout: Buffer.from('out'), stderr: Buffer.alloc(0), timedOut: false, oomKilled: false });
  });

  it('runs the streaming way on a guest agent older than ExecSync', async () => {
    const unimplemented: Unary = (_call, callback) => callback({ code: status.UNIMPLEMENTED, details: 'no ExecSync' }, null);
    const agent = await start(fakeAgent({ execSync: unimplemented }).impl);
    await agent.waitReady(5_000, () => Promise.resolve(undefined));
    expect(await agent.exec({ ...exec, stdin: Buffer.from('old') })).toMatchObject({ exitCode: 3, stdout: Buffer.from('OLD') });
  });

  it('refuses an ExecSync answer with more output than it allowed, or a complete one without its exit', async () => {
    for (const reply of [
      { complete: true, exit: { status: 0, signal: 0, oomKilled: false, timedOut: false }, stdout: Buffer.alloc(2048), stderr: Buffer.alloc(0) },
      { complete: true, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) },
    ]) {
      const agent = await start(fakeAgent({ execSync: ok(reply) }).impl, serving, { readChunkBytes: 1024 });
      await expect(agent.exec(exec)).rejects.toMatchObject({ code: RuntimeErrorCode.AGENT_PROTOCOL_VIOLATION });
      client?.close();
      server?.forceShutdown();
    }
  });

  it('validates guest details', async () => {
    const agent = await start(fakeAgent({ getGuestDetails: ok({ kernelRelease: 'x\u0007\n', agentVersion: '1', memTotalBytes: 0, cpus: 1, bootTimeUnixMs: 0 }) }).impl);
    await expect(agent.guestDetails()).rejects.toMatchObject({ code: RuntimeErrorCode.AGENT_PROTOCOL_VIOLATION });
  });

  it('kills the process and fails clearly when output exceeds the cap', async () => {
    const { impl, signals } = fakeAgent({ readStdout: ok({ data: Buffer.alloc(1024, 'x') }) });
    const agent = await start(impl, serving, { maxOutputBytes: 4096, readChunkBytes: 1024 });
    await expect(agent.exec(exec)).rejects.toMatchObject({
      code: RuntimeErrorCode.EXEC_OUTPUT_LIMIT_EXCEEDED,
      message: expect.stringContaining('stdout exceeded 4096 bytes'),
    });
    await eventually(() => expect(signals).toEqual([9]), { timeout: 1_000 });
  });

  it('rejects a read larger than asked for', async () => {
    const agent = await start(fakeAgent({ readStderr: ok({ data: Buffer.alloc(2048) }) }).impl, serving, { readChunkBytes: 1024 });
    await expect(agent.exec(exec)).rejects.toMatchObject({ code: RuntimeErrorCode.AGENT_PROTOCOL_VIOLATION });
  });

  it('rejects an impossible exit status', async () => {
    const agent = await start(fakeAgent({ waitProcess: ok({ status: 4096, signal: 0 }) }).impl);
    await expect(agent.exec(exec)).rejects.toMatchObject({ code: RuntimeErrorCode.AGENT_PROTOCOL_VIOLATION });
  });

  it('gives up on a stalled call at its deadline', async () => {
    const agent = await start(fakeAgent({ createSandbox: () => undefined }).impl, serving, { callTimeoutMs: 300 });
    const started = Date.now();
    await expect(agent.createSandbox({ sandboxId: 's', hostname: 'h', dns: [], dnsSearch: [], dnsOptions: [], storages: [] })).rejects.toMatchObject({
      code: RuntimeErrorCode.AGENT_CALL_FAILED,
      context: { grpcCode: status.DEADLINE_EXCEEDED },
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('on timeout sends SIGKILL and reports timedOut once the streams end', async () => {
    let killed = false;
    const pending: ((e: null, v: unknown) => void)[] = [];
    const stallUntilKilled = ((_call: unknown, callback: (e: null, v: unknown) => void) => {
      if (killed) callback(null, { data: Buffer.alloc(0) });
      else pending.push(callback);
    }) as Unary;
    const agent = await start(
      fakeAgent({
        readStdout: stallUntilKilled,
        readStderr: stallUntilKilled,
        signalProcess: ((_call: unknown, callback: (e: null, v: unknown) => void) => {
          killed = true;
          for (const cb of pending.splice(0)) cb(null, { data: Buffer.alloc(0) });
          callback(null, {});
        }),
        waitProcess: ok({ status: 137, signal: 9 }),
      }).impl,
      serving,
      // This guest does not enforce the deadline itself; the host's backstop kills after the grace.
      { killGraceMs: 200 },
    );
    const out = await agent.exec({ ...exec, timeoutMs: 200 });
    expect(out).toMatchObject({ exitCode: 137, timedOut: true });
  });

  it('does not wait forever for a guest that ignores SIGKILL', async () => {
    const agent = await start(fakeAgent({ readStdout: () => undefined }).impl, serving, { killGraceMs: 200 });
    await expect(agent.exec({ ...exec, timeoutMs: 100 })).rejects.toMatchObject({ code: RuntimeErrorCode.AGENT_PROTOCOL_VIOLATION });
  });

  it('waitReady fails at once when the VM is gone', async () => {
    const agent = await start(fakeAgent().impl, { ...serving, check: () => undefined });
    const started = Date.now();
    let calls = 0;
    await expect(agent.waitReady(30_000, () => Promise.resolve(++calls < 2 ? undefined : 'the VM hit a KVM internal error'))).rejects.toMatchObject({
      code: RuntimeErrorCode.VM_BOOT_FAILED,
      message: 'the VM hit a KVM internal error before its agent answered',
    });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('ping answers the instance the agent drew when it started; none from an agent too old to say; an unprintable one is a protocol violation', async () => {
    let instance = INSTANCE;
    const agent = await start(fakeAgent().impl, { ...serving, check: (_call, callback) => callback(null, { status: HealthCheckResponse_ServingStatus.SERVING, instance }) });
    await expect(agent.ping(5_000)).resolves.toBe(INSTANCE);
    instance = '';
    await expect(agent.ping(5_000)).resolves.toBeUndefined();
    instance = 'a\u0000b';
    await expect(agent.ping(5_000)).rejects.toMatchObject({ code: RuntimeErrorCode.AGENT_PROTOCOL_VIOLATION, message: expect.stringContaining('Health.Check returned an invalid instance') as unknown });
  });

  it('waitReady keeps polling until SERVING', async () => {
    let checks = 0;
    const agent = await start(fakeAgent().impl, {
      ...serving,
      check: (_call, callback) =>
        callback(null, { status: ++checks < 3 ? HealthCheckResponse_ServingStatus.NOT_SERVING : HealthCheckResponse_ServingStatus.SERVING, instance: INSTANCE }),
    });
    await agent.waitReady(10_000, () => Promise.resolve(undefined));
    expect(checks).toBe(3);
  });

  it('waitReady with setClock is ready once the guest took the host time', async () => {
    const times: number[] = [];
    const before = Math.floor(Date.now() / 1000);
    const agent = await start(
      fakeAgent({
        setGuestDateTime: ((call: { request: { sec: number } }, callback: (e: null, v: unknown) => void) => {
          times.push(call.request.sec);
          callback(null, {});
        }) as Unary,
      }).impl,
      // Never answers: the clock call alone says the agent is ready.
      { ...serving, check: () => undefined },
    );
    await agent.waitReady(5_000, () => Promise.resolve(undefined), { setClock: true });
    expect(times).toHaveLength(1);
    expect(times[0]).toBeGreaterThanOrEqual(before);
  });

  it('waitReady with setClock fails at once when the agent refuses the time', async () => {
    const refusal = new Metadata();
    refusal.set('moat-error-code', 'GUEST_SETUP_FAILED');
    let calls = 0;
    const refusing = await start(
      fakeAgent({
        setGuestDateTime: (_call, callback) => {
          calls++;
          callback({ code: status.INTERNAL, details: 'date -s: permission denied', metadata: refusal }, null);
        },
      }).impl,
    );
    await expect(refusing.waitReady(30_000, () => Promise.resolve(undefined), { setClock: true })).rejects.toMatchObject({
      code: RuntimeErrorCode.AGENT_CALL_FAILED,
      context: { guestCode: 'GUEST_SETUP_FAILED' },
    });
    expect(calls).toBe(1);
  });

  it('waitReady gives up at the boot deadline when nothing answers', async () => {
    const client = new AgentClient(unixAgentTransport(join(dir, 'nobody.sock')));
    try {
      await expect(client.waitReady(600, () => Promise.resolve(undefined))).rejects.toThrow(/did not become ready within 600 ms/);
    } finally {
      client.close();
    }
  });
});
