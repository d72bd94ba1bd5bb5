import {
  AGENTS_NAMESPACE,
  MoatError,
  MAX_FLEET_MESSAGE_BYTES,
  packLogsPage,
  sandboxLogsWireSchema,
  unpackLogsPage,
  type AckReply,
  type ExecRequest,
  type ExecResult,
  type NodeHello,
  type SandboxLogsWire,
  type SandboxLogsRequest,
} from '@moat/proto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from '@jest/globals';
import { MoveError, MoveErrorCode } from '../move/move.errors';
import { encodedBytes, FleetConnection } from './fleet.connection';
import { idleFleetHandlers, TEST_HELLO } from './testing/idle-handlers';

describe('FleetConnection', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

  /**
   * A control plane's `/agents` server that takes hellos; `connected` is the node's socket once
   * it said hello. As the real one, a message over MAX_FLEET_MESSAGE_BYTES closes the connection.
   */
  async function controlPlane(): Promise<{ port: number; connected: Promise<import('socket.io').Socket> }> {
    const server = createServer();
    const io = new Server(server, { maxHttpBufferSize: MAX_FLEET_MESSAGE_BYTES });
    cleanups.push(() => void io.close());
    const connected = new Promise<import('socket.io').Socket>((resolve) => {
      io.of(AGENTS_NAMESPACE).on('connection', (socket) => {
        socket.on('node:hello', (_payload: NodeHello, ack: (reply: AckReply<{ nodeId: string }>) => void) => {
          ack({ ok: true, result: { nodeId: 'n1' } });
          resolve(socket);
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port, connected };
  }

  it('says a refused hello again on the same connection until the control plane takes it', async () => {
    const server = createServer();
    const io = new Server(server);
    cleanups.push(() => void io.close());
    const hellos: NodeHello[] = [];
    const taken = new Promise<void>((resolve) => {
      io.of(AGENTS_NAMESPACE).on('connection', (socket) => {
        socket.on('node:hello', (payload: NodeHello, ack: (reply: AckReply<{ nodeId: string }>) => void) => {
          hellos.push(payload);
          if (hellos.length < 3) return ack({ ok: false, error: { code: 'HELLO_FAILED', message: 'database down' } });
          ack({ ok: true, result: { nodeId: 'n1' } });
          resolve();
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const connection = new FleetConnection(
      { url: `http://127.0.0.1:${port}`, token: 't', nodeId: 'n1', heartbeatMs: 60_000, helloRetryMs: 20 },
      idleFleetHandlers,
      pino({ level: 'silent' }),
    );
    cleanups.push(() => connection.close());
    await taken;
    expect(hellos).toEqual([TEST_HELLO, TEST_HELLO, TEST_HELLO]);
  });

  it('refuses to send an answer larger than the control plane takes, and keeps its connection', async () => {
    const { port, connected } = await controlPlane();
    const output = (bytes: number): ExecResult => ({ exitCode: 0, stdout: 'a'.repeat(bytes), stderr: '', timedOut: false, oomKilled: false });
    const connection = new FleetConnection(
      { url: `http://127.0.0.1:${port}`, token: 't', nodeId: 'n1', heartbeatMs: 60_000 },
      { ...idleFleetHandlers, exec: (req) => Promise.resolve(output(req.command[0] === 'big' ? MAX_FLEET_MESSAGE_BYTES : 10)) },
      pino({ level: 'silent' }),
    );
    cleanups.push(() => connection.close());
    const socket = await connected;
    const exec = (command: string): Promise<AckReply<ExecResult>> =>
      socket.timeout(10_000).emitWithAck('sandbox:exec', { sandboxId: '00000000-0000-4000-8000-00000000000a', command: [command] } satisfies ExecRequest);
    const big = await exec('big');
    expect(big).toMatchObject({ ok: false, error: { code: 'REPLY_TOO_LARGE', message: expect.stringContaining('attach session') } });
    expect(await exec('small')).toEqual({ ok: true, result: output(10) });
    expect(socket.connected).toBe(true);
  });

  it('answers sandbox:logs with the page, its bytes intact, and refuses a malformed request', async () => {
    const { port, connected } = await controlPlane();
    const asked: SandboxLogsRequest[] = [];
    // Bytes that are no valid UTF-8: logs are carried as bytes, not text.
    const data = Buffer.from([0xff, 0x00, 0x0a, 0xc3]);
    const connection = new FleetConnection(
      { url: `http://127.0.0.1:${port}`, token: 't', nodeId: 'n1', heartbeatMs: 60_000 },
      {
        ...idleFleetHandlers,
        logs: (req) => {
          asked.push(req);
          // More entries than socket.io takes binary attachments in one packet (10): they travel as one.
          const entries = Array.from({ length: 20 }, (_, i) => ({ seq: 7 + i, timeMs: 1, stream: 'stderr' as const, data }));
          return Promise.resolve(packLogsPage({ entries, cursor: 26, ended: false }));
        },
      },
      pino({ level: 'silent' }),
    );
    cleanups.push(() => connection.close());
    const socket = await connected;
    const request = { sandboxId: '00000000-0000-4000-8000-00000000000a', after: 6, waitMs: 1_000 };
    const reply: AckReply<SandboxLogsWire> = await socket.timeout(10_000).emitWithAck('sandbox:logs', request);
    expect(asked).toEqual([request]);
    const page = unpackLogsPage(sandboxLogsWireSchema.parse(reply.ok ? reply.result : undefined));
    expect(page.entries).toHaveLength(20);
    expect(page.entries.every((entry) => Buffer.from(entry.data).equals(data))).toBe(true);
    const refused: AckReply<SandboxLogsWire> = await socket.timeout(10_000).emitWithAck('sandbox:logs', { ...request, waitMs: 60_000 });
    expect(refused).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
  });

  it('answers sandbox:receive and sandbox:send through the moves, refusing malformed requests and passing on typed failures', async () => {
    const { port, connected } = await controlPlane();
    const asked: unknown[] = [];
    const connection = new FleetConnection(
      { url: `http://127.0.0.1:${port}`, token: 't', nodeId: 'n1', heartbeatMs: 60_000 },
      {
        ...idleFleetHandlers,
        moves: {
          receive: (req) => {
            asked.push(req);
            return Promise.resolve({ host: '192.0.2.7', port: 40_000 });
          },
          send: (req) => {
            asked.push(req);
            return Promise.reject(new MoveError(MoveErrorCode.MOVE_KEY_REJECTED, "the other node does not hold this move's key"));
          },
        },
      },
      pino({ level: 'silent' }),
    );
    cleanups.push(() => connection.close());
    const socket = await connected;
    const move = { moveId: '00000000-0000-4000-8000-0000000000e1', sandboxId: '00000000-0000-4000-8000-00000000000a', key: Buffer.alloc(32, 1).toString('base64') };
    const emit = (event: string, payload: unknown): Promise<AckReply<unknown>> => socket.timeout(10_000).emitWithAck(event, payload);

    expect(await emit('sandbox:receive', move)).toEqual({ ok: true, result: { host: '192.0.2.7', port: 40_000 } });
    const to = { host: '192.0.2.7', port: 40_000 };
    expect(await emit('sandbox:send', { ...move, to })).toEqual({
      ok: false,
      error: { code: MoveErrorCode.MOVE_KEY_REJECTED, message: "the other node does not hold this move's key" },
    });
    expect(asked).toEqual([move, { ...move, to }]);

    const malformed: [string, unknown][] = [
      ['sandbox:receive', { ...move, key: Buffer.alloc(16, 1).toString('base64') }],
      ['sandbox:receive', { ...move, moveId: 'not-a-uuid' }],
      ['sandbox:send', move],
      ['sandbox:send', { ...move, to: { host: 'node-b.example', port: 40_000 } }],
      ['sandbox:send', { ...move, to: { ...to, port: 0 } }],
    ];
    for (const [event, payload] of malformed) {
      expect(await emit(event, payload)).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    }
    expect(asked).toHaveLength(2);
  });

  it('answers sandbox:migrate-in and sandbox:migrate-out through the migrations, refusing malformed requests and passing on typed failures', async () => {
    const { port, connected } = await controlPlane();
    const asked: unknown[] = [];
    const connection = new FleetConnection(
      { url: `http://127.0.0.1:${port}`, token: 't', nodeId: 'n1', heartbeatMs: 60_000 },
      {
        ...idleFleetHandlers,
        migrations: {
          migrateIn: (req) => {
            asked.push(req);
            return Promise.resolve({ host: '192.0.2.7', port: 40_000 });
          },
          migrateOut: (req) => {
            asked.push(req);
            return req.sandboxId.endsWith('b')
              ? Promise.reject(new MoatError('MIGRATION_FAILED', 'the target did not run the migrated VM'))
              : Promise.resolve({ bytes: 1024, downtimeMs: 12, totalMs: 900 });
          },
        },
      },
      pino({ level: 'silent' }),
    );
    cleanups.push(() => connection.close());
    const socket = await connected;
    const move = { moveId: '00000000-0000-4000-8000-0000000000e1', sandboxId: '00000000-0000-4000-8000-00000000000a', key: Buffer.alloc(32, 1).toString('base64') };
    const to = { host: '192.0.2.7', port: 40_000 };
    const emit = (event: string, payload: unknown): Promise<AckReply<unknown>> => socket.timeout(10_000).emitWithAck(event, payload);

    expect(await emit('sandbox:migrate-in', move)).toEqual({ ok: true, result: to });
    expect(await emit('sandbox:migrate-out', { ...move, to })).toEqual({ ok: true, result: { bytes: 1024, downtimeMs: 12, totalMs: 900 } });
    const failing = { ...move, sandboxId: '00000000-0000-4000-8000-00000000000b', to };
    expect(await emit('sandbox:migrate-out', failing)).toEqual({ ok: false, error: { code: 'MIGRATION_FAILED', message: 'the target did not run the migrated VM' } });
    expect(asked).toHaveLength(3);

    const malformed: [string, unknown][] = [
      ['sandbox:migrate-in', { ...move, moveId: 'not-a-uuid' }],
      ['sandbox:migrate-in', { ...move, key: 'short' }],
      ['sandbox:migrate-out', move],
      ['sandbox:migrate-out', { ...move, to: { ...to, port: 70_000 } }],
    ];
    for (const [event, payload] of malformed) {
      expect(await emit(event, payload)).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    }
    expect(asked).toHaveLength(3);
  });

  it('weighs binary parts by their bytes, as socket.io sends them, not as JSON arrays', () => {
    const chunk = Buffer.alloc(1024 * 1024, 0xff);
    const weight = encodedBytes({ ok: true, result: { data: chunk, eof: false } });
    expect(weight).toBeGreaterThan(chunk.length);
    expect(weight).toBeLessThan(chunk.length + 100);
    expect(encodedBytes({ ok: true, result: { text: 'é' } })).toBe(Buffer.byteLength(JSON.stringify({ ok: true, result: { text: 'é' } })));
  });
});
