import { describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { Transactions } from '../../src/database/transactions.service';
import { appendEvent, EventReason } from '../../src/sandboxes/model/sandbox-events';
import { SandboxesRepository } from '../../src/sandboxes/model/sandboxes.repository';
import { bodyOf, DATABASES } from './support/harness';
import { desiredEntry, fleetMoves, type MovedSandbox } from './support/fleet-moves';
import { bearer } from './support/opened';
import type { TestAgent } from './support/test-agent';

const HEARTBEAT_MS = 200;

/**
 * Moves whose runner died with its control-plane process: settled, a second after they are
 * older than MOAT_MOVE_SETTLE_AFTER_MS, from what the two nodes' heartbeats show.
 */
describe.each(DATABASES)('abandoned moves on $label', ({ kind, skip }) => {
  const moves = fleetMoves(kind, skip, 'abandoned', { MOAT_MOVE_SETTLE_AFTER_MS: '1000' });

  async function runningOn(node: TestAgent): Promise<MovedSandbox> {
    const created = bodyOf<MovedSandbox>(await moves.t.api().post('/v1/sandboxes').set(bearer(moves.tenant)).send({ vcpus: 1, memoryMiB: 512, rootfs: 'block' }).expect(201));
    expect(created.nodeId).toBe(node.nodeId);
    await node.desiredWhere((ids) => ids.includes(created.id));
    node.status({ id: created.id, state: 'running', timings: [] });
    return moves.reaches(created.id, { state: 'running' });
  }

  /**
   * Leaves the sandbox as a control plane that died a minute into its live migration does: booked
   * on `to` and `migrating` (what MoveRunner.begin stores), with nothing running the move.
   */
  async function abandonMigration(sandbox: MovedSandbox, from: TestAgent, to: TestAgent): Promise<void> {
    const rows = moves.t.app.get(SandboxesRepository);
    await moves.t.app.get(Transactions).run(async (manager) => {
      const [row] = await rows.findByIds(manager, [sandbox.id]);
      const event = { code: EventReason.MIGRATING, message: `migrating to node ${to.nodeId} from node ${from.nodeId} while it runs` };
      const events = appendEvent(row.events, 'migrating', new Date(Date.now() - 60_000), event);
      expect(await rows.startMove(manager, { id: sandbox.id, from: from.nodeId, to: to.nodeId, kind: 'live' }, events, new Date())).toBe(true);
    });
    await moves.reaches(sandbox.id, { state: 'migrating', nodeId: from.nodeId });
  }

  async function auditOf(id: string): Promise<{ result: string; message: string | null; actor: { kind: string; id: string } }[]> {
    return eventually(async () => {
      const { items } = bodyOf<{ items: { result: string; message: string | null; actor: { kind: string; id: string } }[] }>(
        await moves.t.api().get(`/v1/audit?targetId=${id}&action=sandbox.migrate`).set(moves.t.admin()).expect(200),
      );
      expect(items.length).toBeGreaterThan(0);
      return items;
    });
  }

  itIf(!skip)("places a sandbox on the target once only the target's heartbeat lists it, in the target's name", async () => {
    const a = await moves.agent();
    const sandbox = await runningOn(a);
    const b = await moves.agent();
    await abandonMigration(sandbox, a, b);
    a.startHeartbeats(HEARTBEAT_MS, () => []);
    b.startHeartbeats(HEARTBEAT_MS, () => [sandbox.id]);

    const settled = await moves.reaches(sandbox.id, { state: 'running', nodeId: b.nodeId });
    const found = `the control plane lost track of it; node ${b.nodeId} holds it and node ${a.nodeId} no longer does`;
    expect(settled.events.at(-1)?.reason).toEqual({ code: 'MIGRATED', message: `running on node ${b.nodeId}, migrated from node ${a.nodeId}: ${found}` });
    expect(await desiredEntry(b, sandbox.id, (entry) => entry !== undefined)).toMatchObject({ id: sandbox.id });
    expect(await auditOf(sandbox.id)).toEqual([
      expect.objectContaining({ result: 'success', actor: { kind: 'node', id: b.nodeId }, message: `from node ${a.nodeId} to node ${b.nodeId}: ${found}` }),
    ]);
  });

  itIf(!skip)("keeps it on its source while the source's heartbeat lists it, even beside the target's copy", async () => {
    const a = await moves.agent();
    const sandbox = await runningOn(a);
    const b = await moves.agent();
    await abandonMigration(sandbox, a, b);
    a.startHeartbeats(HEARTBEAT_MS, () => [sandbox.id]);
    b.startHeartbeats(HEARTBEAT_MS, () => [sandbox.id]);

    const settled = await moves.reaches(sandbox.id, { state: 'running', nodeId: a.nodeId });
    expect(settled.events.at(-1)?.reason).toEqual({
      code: 'MIGRATION_FAILED',
      message: `the control plane lost track of it; node ${a.nodeId} still holds it, so it stays there`,
    });
    // The target is not asked to keep its copy: its grace removes it.
    expect(b.desired.at(-1)?.sandboxes.map((s) => s.id) ?? []).not.toContain(sandbox.id);
    expect(await auditOf(sandbox.id)).toEqual([expect.objectContaining({ result: 'failure', actor: { kind: 'node', id: a.nodeId } })]);
  });

  itIf(!skip)('leaves alone a move this control plane still runs, however old', async () => {
    const a = await moves.agent();
    const sandbox = await runningOn(a);
    const b = await moves.agent();
    let refuse: (reply: { ok: false; error: { code: string; message: string } }) => void = () => undefined;
    b.onMigrateIn = () => new Promise((resolve) => (refuse = resolve));
    a.startHeartbeats(HEARTBEAT_MS, () => []);
    b.startHeartbeats(HEARTBEAT_MS, () => [sandbox.id]);
    await moves.t.api().post(`/v1/sandboxes/${sandbox.id}/migrate`).set(bearer(moves.tenant)).send({ nodeId: b.nodeId }).expect(202);
    await eventually(() => expect(b.migrateInRequests).toHaveLength(1));

    // Past the settle time, with heartbeats that would place it on b: the runner here decides, not them.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await moves.reaches(sandbox.id, { state: 'migrating', nodeId: a.nodeId });
    refuse({ ok: false, error: { code: 'MIGRATION_FAILED', message: 'no room after all' } });
    const settled = await moves.reaches(sandbox.id, { state: 'running', nodeId: a.nodeId });
    expect(settled.events.at(-1)?.reason?.message).toContain('no room after all');
  });
});
