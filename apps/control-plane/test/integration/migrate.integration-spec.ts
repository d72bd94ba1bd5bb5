import type { AckReply, SandboxMigrateOutReply } from '@moat/proto';
import { describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { bodyOf, DATABASES } from './support/harness';
import { desiredEntry, fleetMoves, type MovedSandbox } from './support/fleet-moves';
import { bearer } from './support/opened';
import type { TestAgent } from './support/test-agent';

type Sandbox = MovedSandbox;

const TARGET = { host: '10.20.0.3', port: 42_000 };
const FIGURES = { bytes: 1_250_000_000, downtimeMs: 87, totalMs: 4321 };
const ERROR_KEYS = ['code', 'message'];

describe.each(DATABASES)('live migration on $label', ({ kind, skip }) => {
  const moves = fleetMoves(kind, skip, 'migrant');
  const as = bearer;

  /** A sandbox running on `node` (the only node connected while it is created). */
  async function runningOn(node: TestAgent, spec: Record<string, unknown> = { rootfs: 'block' }): Promise<Sandbox> {
    const created = bodyOf<Sandbox>(await moves.t.api().post('/v1/sandboxes').set(as(moves.tenant)).send({ vcpus: 1, memoryMiB: 512, ...spec }).expect(201));
    expect(created.nodeId).toBe(node.nodeId);
    await node.desiredWhere((ids) => ids.includes(created.id));
    node.status({ id: created.id, state: 'running', timings: [] });
    return moves.reaches(created.id, { state: 'running' });
  }

  async function auditOf(id: string, action: string): Promise<{ result: string; status: number; message: string | null; actor: { kind: string } }[]> {
    return eventually(async () => {
      const items = bodyOf<{ items: { result: string; status: number; message: string | null; actor: { kind: string } }[] }>(
        await moves.t.api().get(`/v1/audit?targetId=${id}&action=${action}`).set(moves.t.admin()).expect(200),
      ).items;
      expect(items.length).toBeGreaterThan(0);
      return items;
    });
  }

  async function allocatedVcpus(node: TestAgent): Promise<number> {
    return bodyOf<{ allocated: { vcpus: number } }>(await moves.t.api().get(`/v1/nodes/${node.nodeId}`).set(moves.t.admin()).expect(200)).allocated.vcpus;
  }

  itIf(!skip)('migrates a running sandbox to another node: one move id and key to both, its address kept, placement switched, figures audited', async () => {
    const a = await moves.agent();
    const sandbox = await runningOn(a);
    const b = await moves.agent();
    b.onMigrateIn = () => ({ ok: true, result: TARGET });
    let finish: (reply: AckReply<SandboxMigrateOutReply>) => void = () => undefined;
    a.onMigrateOut = () => new Promise((resolve) => (finish = resolve));
    const planned = await desiredEntry(a, sandbox.id, (entry) => entry !== undefined);
    expect(planned?.address).toBeDefined();

    const accepted = bodyOf<Sandbox>(await moves.t.api().post(`/v1/sandboxes/${sandbox.id}/migrate`).set(as(moves.tenant)).send({}).expect(202));
    expect(accepted).toMatchObject({ state: 'migrating', nodeId: a.nodeId });
    expect(accepted.events.at(-1)?.reason).toEqual({ code: 'MIGRATING', message: `migrating to node ${b.nodeId} from node ${a.nodeId} while it runs` });
    await eventually(() => {
      expect(a.migrateOutRequests).toHaveLength(1);
      return Promise.resolve();
    });
    const [migrateIn] = b.migrateInRequests;
    const [migrateOut] = a.migrateOutRequests;
    expect(migrateIn).toMatchObject({ sandboxId: sandbox.id });
    expect(Buffer.from(migrateIn.key, 'base64')).toHaveLength(32);
    expect(migrateOut).toEqual({ ...migrateIn, to: TARGET });

    // While it migrates: still on its node, which keeps running it (not hibernated); booked on the target; a second request starts nothing.
    const again = await moves.t.api().post(`/v1/sandboxes/${sandbox.id}/migrate`).set(as(moves.tenant)).send({}).expect(409);
    expect(again.body.error.code).toBe('SANDBOX_NOT_RUNNING');
    a.status({ id: sandbox.id, state: 'running', timings: [] });
    await moves.reaches(sandbox.id, { state: 'migrating', nodeId: a.nodeId });
    const during = await desiredEntry(a, sandbox.id, (entry) => entry !== undefined);
    expect(during?.hibernated).toBeUndefined();
    expect(b.desired.flatMap((d) => d.sandboxes).map((s) => s.id)).not.toContain(sandbox.id);
    expect(await allocatedVcpus(b)).toBe(1);
    // …and only there: its own node no longer counts it (nothing else runs on it).
    expect(await allocatedVcpus(a)).toBe(0);
    expect(b.migrateInRequests).toHaveLength(1);
    // The source lets go of it once the target runs it; that is no failure.
    a.status({ id: sandbox.id, state: 'gone', timings: [] });
    const shown = JSON.stringify(bodyOf(await moves.t.api().get(`/v1/sandboxes/${sandbox.id}`).set(as(moves.tenant)).expect(200)));
    expect(shown).not.toContain(migrateIn.key);
    await moves.reaches(sandbox.id, { state: 'migrating', nodeId: a.nodeId });

    finish({ ok: true, result: FIGURES });
    const moved = await moves.reaches(sandbox.id, { nodeId: b.nodeId, state: 'running' });
    expect(moved.ip).toBe(sandbox.ip);
    expect(moved.events.at(-1)?.reason).toEqual({
      code: 'MIGRATED',
      message: `running on node ${b.nodeId}, migrated from node ${a.nodeId}: 1250000000 bytes, downtime 87 ms, total 4321 ms`,
    });
    const entry = await desiredEntry(b, sandbox.id, (e) => e !== undefined);
    expect(entry).toMatchObject({ address: planned?.address });
    expect(entry?.hibernated).toBeUndefined();
    await desiredEntry(a, sandbox.id, (e) => e === undefined);
    expect(await allocatedVcpus(a)).toBe(0);
    expect(await allocatedVcpus(b)).toBe(1);

    const audit = await auditOf(sandbox.id, 'sandbox.migrate');
    expect(audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          result: 'success',
          status: 200,
          message: `from node ${a.nodeId} to node ${b.nodeId}: 1250000000 bytes, downtime 87 ms, total 4321 ms`,
        }),
        expect.objectContaining({ result: 'success', status: 202 }),
      ]),
    );
    expect(JSON.stringify(audit)).not.toContain(migrateIn.key);
  });

  itIf(!skip)('leaves the sandbox running on its node when the target fails, with MIGRATION_FAILED and the booking released', async () => {
    const a = await moves.agent();
    const sandbox = await runningOn(a);
    const b = await moves.agent();
    b.onMigrateIn = () => ({ ok: false, error: { code: 'MIGRATION_PORT_FAILED', message: 'no port to listen on' } });

    await moves.t.api().post(`/v1/sandboxes/${sandbox.id}/migrate`).set(as(moves.tenant)).send({ nodeId: b.nodeId }).expect(202);
    const failed = await moves.reaches(sandbox.id, { state: 'running', nodeId: a.nodeId });
    expect(failed.events.at(-1)).toMatchObject({
      state: 'running',
      reason: { code: 'MIGRATION_FAILED', message: `receiving on node ${b.nodeId}: MIGRATION_PORT_FAILED: no port to listen on` },
    });
    expect(Object.keys(failed.events.at(-1)?.reason ?? {})).toEqual(ERROR_KEYS);
    expect(a.migrateOutRequests).toEqual([]);
    expect(b.desired.flatMap((d) => d.sandboxes).map((s) => s.id)).not.toContain(sandbox.id);
    await eventually(async () => expect(await allocatedVcpus(b)).toBe(0));
    expect(await allocatedVcpus(a)).toBe(1);
    const audit = await auditOf(sandbox.id, 'sandbox.migrate');
    expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ result: 'failure', status: 502 })]));

    // It can be migrated again: the source failing this time.
    b.onMigrateIn = () => ({ ok: true, result: TARGET });
    a.onMigrateOut = () => ({ ok: false, error: { code: 'MIGRATION_FAILED', message: 'the target went away midway' } });
    await moves.t.api().post(`/v1/sandboxes/${sandbox.id}/migrate`).set(as(moves.tenant)).send({}).expect(202);
    await eventually(async () => {
      const found = await moves.reaches(sandbox.id, { state: 'running', nodeId: a.nodeId });
      expect(found.events.at(-1)?.reason?.message).toBe(`sending from node ${a.nodeId}: MIGRATION_FAILED: the target went away midway`);
    });
  });

  itIf(!skip)('refuses what cannot migrate: 404s and 409s', async () => {
    const a = await moves.agent();
    const shared = await runningOn(a, { rootfs: 'virtiofs' });
    const block = await runningOn(a);
    const code = async (id: string, body: object, status: number): Promise<string> =>
      (await moves.t.api().post(`/v1/sandboxes/${id}/migrate`).set(as(moves.tenant)).send(body).expect(status)).body.error.code as string;

    expect(await code('00000000-0000-4000-8000-000000000000', {}, 404)).toBe('NOT_FOUND');
    expect(await code(shared.id, {}, 409)).toBe('MIGRATION_UNSUPPORTED');
    // No other node at all.
    expect(await code(block.id, {}, 409)).toBe('INSUFFICIENT_RESOURCES');
    expect(await code(block.id, { nodeId: '00000000-0000-4000-8000-000000000000' }, 404)).toBe('NODE_NOT_FOUND');
    expect(await code(block.id, { nodeId: 'not-a-uuid' }, 400)).toBe('VALIDATION_FAILED');
    expect(await code(block.id, { nodeId: a.nodeId }, 409)).toBe('INVALID_STATE');

    const small = await moves.agent({ vcpus: 4, memoryMiB: 1536 });
    // 1536 - 1024 reserved = 512 MiB: not 512 + 160.
    const full = await moves.t.api().post(`/v1/sandboxes/${block.id}/migrate`).set(as(moves.tenant)).send({ nodeId: small.nodeId }).expect(409);
    expect(full.body.error.code).toBe('INSUFFICIENT_RESOURCES');
    expect(full.body.error.message).toContain(`has no room for sandbox ${block.id}`);
    await moves.t.api().post(`/v1/nodes/${small.nodeId}/cordon`).set(moves.t.admin()).expect(200);
    expect(await code(block.id, { nodeId: small.nodeId }, 409)).toBe('INVALID_STATE');

    // Not running: hibernated.
    await moves.t.api().post(`/v1/sandboxes/${block.id}/hibernate`).set(as(moves.tenant)).expect(202);
    expect(await code(block.id, {}, 409)).toBe('SANDBOX_NOT_RUNNING');
    await moves.reaches(block.id, { state: 'running', nodeId: a.nodeId });
    expect(small.migrateInRequests).toEqual([]);
  });

  itIf(!skip)('drains a node by migration: the block sandbox migrates, the virtiofs one falls back, each told which; the mode audited', async () => {
    const a = await moves.agent();
    const block = await runningOn(a);
    const shared = await runningOn(a, { rootfs: 'virtiofs' });
    const b = await moves.agent();
    b.onMigrateIn = () => ({ ok: true, result: TARGET });
    a.onMigrateOut = () => ({ ok: true, result: FIGURES });

    const node = bodyOf<{ state: string }>(await moves.t.api().post(`/v1/nodes/${a.nodeId}/drain`).set(moves.t.admin()).send({ mode: 'migrate' }).expect(200));
    expect(node.state).toBe('draining');

    const migrated = await moves.reaches(block.id, { state: 'running', nodeId: b.nodeId });
    expect(migrated.events.map((e) => e.reason?.code).filter(Boolean)).toEqual(expect.arrayContaining(['DRAIN_MIGRATED', 'MIGRATED']));
    expect(migrated.events.find((e) => e.reason?.code === 'DRAIN_MIGRATED')?.reason?.message).toBe(
      `node ${a.nodeId} drains: migrating to node ${b.nodeId} while it runs`,
    );
    const fallback = await eventually(async () => {
      const found = await moves.reaches(shared.id, { state: 'running', nodeId: a.nodeId });
      expect(found.events.at(-1)?.reason?.code).toBe('DRAIN_FALLBACK');
      return found;
    });
    expect(fallback.events.at(-1)?.reason?.message).toBe('it cannot migrate (rootfs virtiofs; only "block" can): it keeps running on its node until deleted');
    expect(a.migrateOutRequests.map((r) => r.sandboxId)).toEqual([block.id]);

    const drains = await auditOf(a.nodeId, 'node.drain');
    expect(drains).toEqual([expect.objectContaining({ result: 'success', message: 'mode: migrate' })]);
    const migrations = await auditOf(block.id, 'sandbox.migrate');
    expect(migrations).toEqual([expect.objectContaining({ result: 'success', actor: { kind: 'admin', id: 'admin' } })]);
  });

  itIf(!skip)('drains by replacement by default, auditing that mode', async () => {
    const a = await moves.agent();
    const block = await runningOn(a);
    await moves.agent();
    await moves.t.api().post(`/v1/nodes/${a.nodeId}/drain`).set(moves.t.admin()).expect(200);
    expect((await auditOf(a.nodeId, 'node.drain')).at(0)).toMatchObject({ message: 'mode: replace' });
    const refused = await moves.t.api().post(`/v1/nodes/${a.nodeId}/drain`).set(moves.t.admin()).send({ mode: 'teleport' }).expect(400);
    expect(refused.body.error.code).toBe('VALIDATION_FAILED');
    const found = await moves.reaches(block.id, { state: 'running', nodeId: a.nodeId });
    expect(found.events.map((e) => e.reason?.code)).not.toContain('DRAIN_MIGRATED');
    expect(a.migrateOutRequests).toEqual([]);
  });
});
