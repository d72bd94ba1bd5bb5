import { randomBytes, randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { MoatError } from '@moat/proto';
import type { LiveDeparture, SandboxInfo } from '@moat/runtime-core';
import { afterEach, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { MoveArrivals } from './move-arrivals';
import { MoveDepartures } from './move-departures';
import { MoveSessions } from './move-sessions';
import type { MigrationPort } from './move.port';
import { MoveErrorCode } from './move.errors';
import { SandboxMigrations } from './sandbox-migrations';

const log = pino({ level: 'silent' });
const TENANT = '00000000-0000-4000-8000-0000000000c1';

/** How a fake node's runtime behaves in a test. */
interface Behaviour {
  /** The target's migrateIn fails with this, after reading the stream. */
  runFails?: MoatError;
  /** The target's migrateIn waits for this once it has read the stream. */
  beforeRunning?: () => Promise<void>;
  /** The source's VM stream breaks after this many bytes (QEMU died): the sink is destroyed. */
  cutAfterBytes?: number;
}

/**
 * A node's runtime as the live migration drives it: a source streams `vm` into the sink, waits
 * for `ran` and lets go of the sandbox (or keeps it running when `ran` rejects), as the runtime does.
 */
function fakeRuntime(behaviour: Behaviour = {}) {
  const running = new Map<string, Buffer>();
  const received: { sandboxId: string; departure: LiveDeparture; bytes: Buffer }[] = [];
  const ran: ('resolved' | 'rejected')[] = [];
  const runFailures: unknown[] = [];
  const deleted: string[] = [];
  const port: MigrationPort = {
    departure: (sandboxId) => {
      if (!running.has(sandboxId)) return Promise.reject(new MoatError('SANDBOX_NOT_RUNNING', `sandbox ${sandboxId} is not running here`));
      return Promise.resolve({ state: JSON.stringify({ spec: { id: sandboxId, tenantId: TENANT } }), diskBytes: 1 << 30 });
    },
    migrateOut: async (sandboxId, sink: Writable, whenRan) => {
      const vm = running.get(sandboxId)!;
      const started = Date.now();
      for (let at = 0; at < vm.length; at += 64 * 1024) {
        if (behaviour.cutAfterBytes !== undefined && at >= behaviour.cutAfterBytes) {
          sink.destroy(new Error('the VMM died'));
          throw new MoatError('MIGRATION_FAILED', 'migrate VM: the VMM died');
        }
        if (!sink.write(vm.subarray(at, at + 64 * 1024))) await new Promise((resolve) => sink.once('drain', resolve));
      }
      await new Promise<void>((resolve) => sink.end(resolve));
      try {
        await whenRan();
      } catch (cause) {
        ran.push('rejected');
        throw new MoatError('MIGRATION_FAILED', 'the target did not run the migrated VM (or its answer was lost); it runs on here', { cause });
      }
      ran.push('resolved');
      running.delete(sandboxId);
      return { bytes: vm.length, downtimeMs: 12, totalMs: Date.now() - started };
    },
    migrateIn: async (sandboxId, departure, source: Readable) => {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of source) chunks.push(chunk as Buffer);
        await behaviour.beforeRunning?.();
        if (behaviour.runFails) throw behaviour.runFails;
      } catch (err) {
        runFailures.push(err);
        throw err;
      }
      received.push({ sandboxId, departure, bytes: Buffer.concat(chunks) });
      running.set(sandboxId, Buffer.concat(chunks));
      return { id: sandboxId, state: 'running' } as SandboxInfo;
    },
    delete: (sandboxId) => {
      deleted.push(sandboxId);
      running.delete(sandboxId);
      return Promise.resolve();
    },
  };
  return { port, running, received, ran, runFailures, deleted };
}

describe('SandboxMigrations', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  function node(behaviour?: Behaviour, opts: { transferTimeoutMs?: number } = {}) {
    const runtime = fakeRuntime(behaviour);
    const arrivals = new MoveArrivals(60_000);
    const departures = new MoveDepartures(60_000);
    const sessions = new MoveSessions({ address: () => '127.0.0.1', log, connectTimeoutMs: 5_000 });
    const migrations = new SandboxMigrations({
      runtime: runtime.port,
      sessions,
      arrivals,
      departures,
      log,
      ...opts,
    });
    cleanups.push(() => sessions.close().then(() => (arrivals.clear(), departures.clear())));
    return { migrations, sessions, arrivals, departures, ...runtime };
  }

  /** A source running a sandbox (its VM `vmBytes` long), a target, and the target waiting for it (the control plane's `sandbox:migrate-in`). */
  async function migrationUnderWay(target: ReturnType<typeof node>, source = node(), vmBytes = 3 * 1024 * 1024 + 17) {
    const sandboxId = randomUUID();
    source.running.set(sandboxId, randomBytes(vmBytes));
    const req = { moveId: randomUUID(), sandboxId, key: randomBytes(32).toString('base64') };
    const to = await target.migrations.migrateIn(req);
    return { source, target, sandboxId, req, to };
  }

  it('streams the running VM to the target, which runs it as an arrival; the source answers with the figures and records the departure', async () => {
    const target = node();
    const { source, sandboxId, req, to } = await migrationUnderWay(target);
    const vm = source.running.get(sandboxId)!;
    expect(to.host).toBe('127.0.0.1');

    const figures = await source.migrations.migrateOut({ ...req, to });
    await target.sessions.idle();

    expect(figures).toMatchObject({ bytes: vm.length, downtimeMs: 12 });
    expect(figures.totalMs).toBeGreaterThanOrEqual(0);
    expect(source.ran).toEqual(['resolved']);
    expect(source.running.has(sandboxId)).toBe(false);
    expect(source.departures.holds(sandboxId)).toBe(true);
    expect(target.received).toHaveLength(1);
    expect(target.received[0].bytes.equals(vm)).toBe(true);
    expect(target.received[0].departure).toEqual({ state: JSON.stringify({ spec: { id: sandboxId, tenantId: TENANT } }), diskBytes: 1 << 30 });
    expect(target.arrivals.holds(sandboxId)).toBe(true);
    expect(target.deleted).toEqual([]);
  });

  it("gives the source the target's failure code; the source's ran rejects and the VM runs on there", async () => {
    const target = node({ runFails: new MoatError('INVALID_SPEC', 'the sandbox is on this node already') });
    const { source, sandboxId, req, to } = await migrationUnderWay(target);

    await expect(source.migrations.migrateOut({ ...req, to })).rejects.toMatchObject({
      code: 'INVALID_SPEC',
      message: expect.stringContaining('the sandbox is on this node already'),
    });
    await target.sessions.idle();

    expect(source.ran).toEqual(['rejected']);
    expect(source.running.has(sandboxId)).toBe(true);
    expect(source.departures.holds(sandboxId)).toBe(false);
    expect(target.arrivals.holds(sandboxId)).toBe(false);
    expect(target.received).toEqual([]);
  });

  it('fails the target on a stream cut before its closing frame, and the source with its own failure', async () => {
    const target = node();
    const { source, sandboxId, req, to } = await migrationUnderWay(target, node({ cutAfterBytes: 1024 * 1024 }));

    await expect(source.migrations.migrateOut({ ...req, to })).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
    await target.sessions.idle();

    expect(target.runFailures).toHaveLength(1);
    expect(target.runFailures[0]).toMatchObject({ code: expect.stringMatching(/^MOVE_(TRANSFER_FAILED|PROTOCOL_VIOLATION)$/) });
    expect(target.received).toEqual([]);
    expect(target.arrivals.holds(sandboxId)).toBe(false);
    expect(source.running.has(sandboxId)).toBe(true);
    expect(source.departures.holds(sandboxId)).toBe(false);
  });

  it('deletes the copy on the target when its ok cannot reach the source (gone meanwhile), so the VM never runs in two places', async () => {
    const source = node(undefined, { transferTimeoutMs: 1_000 });
    const migrating: { out?: Promise<unknown> } = {};
    const target = node({
      beforeRunning: async () => {
        await migrating.out?.catch(() => undefined);
        // The source's close crossing loopback.
        await new Promise((resolve) => setTimeout(resolve, 50));
      },
    });
    const { sandboxId, req, to } = await migrationUnderWay(target, source);

    migrating.out = source.migrations.migrateOut({ ...req, to });
    await expect(migrating.out).rejects.toMatchObject({ code: 'MIGRATION_FAILED', message: expect.stringContaining('not done within 1000 ms') });
    await target.sessions.idle();

    expect(source.ran).toEqual(['rejected']);
    expect(source.running.has(sandboxId)).toBe(true);
    expect(target.received).toHaveLength(1);
    expect(target.deleted).toEqual([sandboxId]);
    expect(target.running.has(sandboxId)).toBe(false);
    expect(target.arrivals.holds(sandboxId)).toBe(false);
  });

  it('refuses a migration of a sandbox already moving on this node, and a sandbox that does not run here', async () => {
    const target = node();
    const { source, sandboxId, req, to } = await migrationUnderWay(target);
    await expect(target.migrations.migrateIn({ ...req, moveId: randomUUID() })).rejects.toMatchObject({ code: MoveErrorCode.MOVE_IN_PROGRESS });
    source.running.delete(sandboxId);
    await expect(source.migrations.migrateOut({ ...req, to })).rejects.toMatchObject({ code: 'SANDBOX_NOT_RUNNING' });
  });
});
