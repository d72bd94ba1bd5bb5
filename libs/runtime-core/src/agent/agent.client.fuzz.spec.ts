import { Server, ServerCredentials, status, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  AgentServiceService,
  Empty,
  ExecSyncResponse,
  HealthCheckResponse_ServingStatus,
  HealthService,
  ReadStreamResponse,
  StatsContainerResponse,
  WaitProcessResponse,
  WriteStreamResponse,
  type HealthServer,
} from '@moat/proto';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { AgentClient } from './agent.client';
import { DEFAULT_AGENT_LIMITS, type AgentLimits } from './agent.types';
import { unixAgentTransport } from '../testing/unix-agent-transport';

/** What a hostile or broken guest answers to one call. */
type Reply =
  | { kind: 'valid'; message: Uint8Array }
  | { kind: 'garbage'; bytes: Uint8Array }
  | { kind: 'error'; code: number }
  | { kind: 'stall'; ms: number };

const LIMITS: AgentLimits = {
  ...DEFAULT_AGENT_LIMITS,
  callTimeoutMs: 300,
  pollTimeoutMs: 300,
  readChunkBytes: 1024,
  writeChunkBytes: 512,
  maxOutputBytes: 4096,
  killGraceMs: 200,
};
const EXEC_TIMEOUT_MS = 400;
/** Every exec must settle within this, whatever the guest does. */
const SETTLE_BOUND_MS = 5_000;
const CLEAN_CODES = [
  RuntimeErrorCode.AGENT_CALL_FAILED,
  RuntimeErrorCode.AGENT_PROTOCOL_VIOLATION,
  RuntimeErrorCode.EXEC_OUTPUT_LIMIT_EXCEEDED,
];

const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const grpcError = fc.constantFrom(status.INTERNAL, status.UNAVAILABLE, status.NOT_FOUND, status.RESOURCE_EXHAUSTED, status.UNKNOWN);
const hostile = (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Reply> =>
  fc.oneof(
    { weight: 6, arbitrary: valid.map((message) => ({ kind: 'valid' as const, message })) },
    { weight: 1, arbitrary: bytes(64).map((b) => ({ kind: 'garbage' as const, bytes: b })) },
    { weight: 1, arbitrary: grpcError.map((code) => ({ kind: 'error' as const, code })) },
    { weight: 1, arbitrary: fc.integer({ min: 50, max: 700 }).map((ms) => ({ kind: 'stall' as const, ms })) },
  );

// Replies that parse, but may lie: more data than asked for, impossible statuses, absurd counters.
const readReply = fc
  .oneof(bytes(0), bytes(1024), fc.uint8Array({ minLength: 1025, maxLength: 3000 }))
  .map((data) => ReadStreamResponse.encode({ data: Buffer.from(data) }).finish());
const exitRecord = fc.record({
  status: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.integer({ min: -5, max: 100_000 })),
  signal: fc.integer({ min: 0, max: 200 }),
  oomKilled: fc.boolean(),
  timedOut: fc.boolean(),
});
const waitReply = exitRecord.map((reply) => WaitProcessResponse.encode(reply).finish());
// Complete or not, with or without its exit, with output that may exceed what was allowed.
const execSyncReply = fc
  .record({
    complete: fc.boolean(),
    exit: fc.option(exitRecord, { nil: undefined }),
    stdout: fc.oneof(bytes(0), bytes(512), fc.uint8Array({ minLength: 1025, maxLength: 3000 })),
    stderr: bytes(512),
  })
  .map(({ stdout, stderr, ...reply }) => ExecSyncResponse.encode({ ...reply, stdout: Buffer.from(stdout), stderr: Buffer.from(stderr) }).finish());
const writeReply = fc.integer({ min: 0, max: 2048 }).map((len) => WriteStreamResponse.encode({ len }).finish());
const emptyReply = fc.constant(Empty.encode({}).finish());
// uint64 on the wire cannot be negative; values past 2^53 arrive as garbage replies (they fail to decode).
const counter = fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER));
const statsReply = fc
  .record({ a: counter, b: counter, c: counter, d: counter })
  .map(({ a, b, c, d }) =>
    StatsContainerResponse.encode({
      cpu: { usageUsec: a, userUsec: b, systemUsec: c },
      memory: { currentBytes: d, maxBytes: a, limitBytes: b, oomKills: c },
      pids: { current: d, limit: a },
      io: { readBytes: b, writeBytes: c },
    }).finish(),
  );

/** A scripted guest: each method answers from its own queue of replies, then repeats the last. */
interface Script {
  execProcess: Reply[];
  execSync: Reply[];
  writeStdin: Reply[];
  closeStdin: Reply[];
  readStdout: Reply[];
  readStderr: Reply[];
  waitProcess: Reply[];
  signalProcess: Reply[];
  statsContainer: Reply[];
}

const script: fc.Arbitrary<Script> = fc.record({
  execProcess: fc.array(hostile(emptyReply), { minLength: 1, maxLength: 2 }),
  execSync: fc.array(hostile(execSyncReply), { minLength: 1, maxLength: 2 }),
  writeStdin: fc.array(hostile(writeReply), { minLength: 1, maxLength: 4 }),
  closeStdin: fc.array(hostile(emptyReply), { minLength: 1, maxLength: 2 }),
  readStdout: fc.array(hostile(readReply), { minLength: 1, maxLength: 8 }),
  readStderr: fc.array(hostile(readReply), { minLength: 1, maxLength: 8 }),
  waitProcess: fc.array(hostile(waitReply), { minLength: 1, maxLength: 3 }),
  signalProcess: fc.array(hostile(emptyReply), { minLength: 1, maxLength: 2 }),
  statsContainer: fc.array(hostile(statsReply), { minLength: 1, maxLength: 2 }),
});

/** The agent service with raw-bytes responses, so a reply can be anything on the wire. */
function rawService(): ServiceDefinition {
  return Object.fromEntries(
    Object.entries(AgentServiceService).map(([name, method]) => [name, { ...method, responseSerialize: (value: Uint8Array) => Buffer.from(value) }]),
  );
}

describe('AgentClient against a hostile guest (fast-check)', () => {
  let dir: string;
  let server: Server;
  let current: Script | undefined;
  const calls = new Map<string, number>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-fuzz-'));
    server = new Server();
    const impl: UntypedServiceImplementation = {};
    for (const name of Object.keys(AgentServiceService)) {
      impl[name] = (_call: unknown, callback: (error: { code: number; details: string } | null, value?: Uint8Array) => void) => {
        const queue = current?.[name as keyof Script];
        if (!queue) return callback({ code: status.UNIMPLEMENTED, details: name });
        const index = calls.get(name) ?? 0;
        calls.set(name, index + 1);
        const reply = queue[Math.min(index, queue.length - 1)];
        switch (reply.kind) {
          case 'valid':
            return callback(null, reply.message);
          case 'garbage':
            return callback(null, reply.bytes);
          case 'error':
            return callback({ code: reply.code, details: 'guest says no' });
          case 'stall':
            setTimeout(() => callback(null, Empty.encode({}).finish()), reply.ms).unref();
        }
      };
    }
    server.addService(rawService(), impl);
    const health: HealthServer = {
      check: (_call, callback) => callback(null, { status: HealthCheckResponse_ServingStatus.SERVING, instance: 'fuzz' }),
      version: (_call, callback) => callback(null, { grpcVersion: 'x', agentVersion: 'y' }),
    };
    server.addService(HealthService, health);
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${join(dir, 'agent.sock')}`, ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
    );
  });

  afterAll(() => {
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const withClient = async <T>(fn: (client: AgentClient) => Promise<T>): Promise<T> => {
    const client = new AgentClient(unixAgentTransport(join(dir, 'agent.sock')), LIMITS);
    try {
      return await fn(client);
    } finally {
      client.close();
    }
  };

  /** Either a result that respects every limit, or a RuntimeError with a known code and a message. */
  const settlesCleanly = async (run: () => Promise<unknown>, check: (value: unknown) => void): Promise<void> => {
    const started = Date.now();
    try {
      check(await run());
    } catch (error) {
      expect(error).toBeInstanceOf(RuntimeError);
      expect(CLEAN_CODES).toContain((error as RuntimeError).code);
      expect((error as RuntimeError).message.length).toBeGreaterThan(0);
    }
    expect(Date.now() - started).toBeLessThan(SETTLE_BOUND_MS);
  };

  it('every exec either succeeds within the limits or fails with a clear error, in bounded time', async () => {
    await fc.assert(
      fc.asyncProperty(script, bytes(2000), async (guest, stdin) => {
        current = guest;
        calls.clear();
        await withClient((client) =>
          settlesCleanly(
            () => client.exec({ containerId: 'c', execId: 'e', args: ['x'], env: [], cwd: '/', stdin: Buffer.from(stdin), timeoutMs: EXEC_TIMEOUT_MS }),
            (value) => {
              const out = value as { exitCode: number; stdout: Buffer; stderr: Buffer };
              expect(out.exitCode).toBeGreaterThanOrEqual(0);
              expect(out.exitCode).toBeLessThanOrEqual(255);
              expect(out.stdout.length).toBeLessThanOrEqual(LIMITS.maxOutputBytes);
              expect(out.stderr.length).toBeLessThanOrEqual(LIMITS.maxOutputBytes);
            },
          ),
        );
      }),
      { numRuns: 60 },
    );
  }, 300_000);

  it('stats are plausible counters or a protocol violation', async () => {
    await fc.assert(
      fc.asyncProperty(script, async (guest) => {
        current = guest;
        calls.clear();
        await withClient((client) =>
          settlesCleanly(
            () => client.stats('c'),
            (value) => {
              const numbers = JSON.stringify(value).match(/-?\d+/g) ?? [];
              for (const n of numbers) expect(Number(n)).toBeGreaterThanOrEqual(0);
            },
          ),
        );
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
