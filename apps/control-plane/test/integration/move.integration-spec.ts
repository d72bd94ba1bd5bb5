import type { AckReply, SandboxSendReply } from '@moat/proto';
import { describe, expect } from '@jest/globals';
import { eventually, itIf } from '@moat/test-support';
import { bodyOf, DATABASES } from './support/harness';
import { desiredEntry, fleetMoves, type MovedSandbox } from './support/fleet-moves';
import { bearer } from './support/opened';
import type { TestAgent } from './support/test-agent';

type Sandbox = MovedSandbox;

const SAVED_BYTES = 1_500_000_000;
const TARGET = { host: '10.20.0.2', port: 41_000 };

describe.each(DATABASES)('waking a hibernated sandbox on another node on $label', ({ kind, skip }) => {
  const moves = fleetMoves(kind, skip, 'wanderer');
  const as = bearer;

  /** A sandbox hibernated on `node` (the only node connected while it is created). */
  async function hibernatedOn(node: TestAgent, size = { vcpus: 2, memoryMiB: 1024 }): Promise<Sandbox> {
    const created = bodyOf<Sandbox>(await moves.t.api().post('/v1/sandboxes').set(as(moves.tenant)).send({ rootfs: 'block', ...size }).expect(201));
    expect(created.nodeId).toBe(node.nodeId);
    await node.desiredWhere((ids) => ids.includes(created.id));
    node.status({ id: created.id, state: 'running', timings: [] });
    await moves.reaches(created.id, { state: 'running' });
    await moves.t.api().post(`/v1/sandboxes/${created.id}/hibernate`).set(as(moves.tenant)).expect(202);
    await desiredEntry(node, created.id, (entry) => entry?.hibernated === true);
    node.status({ id: created.id, state: 'hibernated', timings: [], savedBytes: SAVED_BYTES });
    return moves.reaches(created.id, { state: 'hibernated', nodeId: node.nodeId });
  }

  itIf(!skip)('moves the saved state from a cordoned node to another and wakes it there', async () => {
    const a = await moves.agent();
    const sleeper = await hibernatedOn(a);
    const b = await moves.agent();
    b.onReceive = () => ({ ok: true, result: TARGET });
    let finishSend: (reply: AckReply<SandboxSendReply>) => void = () => undefined;
    a.onSend = () => new Promise((resolve) => (finishSend = resolve));
    await moves.t.api().post(`/v1/nodes/${a.nodeId}/cordon`).set(moves.t.admin()).expect(200);

    const accepted = bodyOf<Sandbox>(await moves.t.api().post(`/v1/sandboxes/${sleeper.id}/wake`).set(as(moves.tenant)).expect(202));
    expect(accepted).toMatchObject({ state: 'waking', nodeId: a.nodeId });
    expect(accepted.events.at(-1)?.reason?.code).toBe('MOVING');
    await eventually(() => {
      expect(a.sendRequests).toHaveLength(1);
      return Promise.resolve();
    });
    const [receive] = b.receiveRequests;
    const [send] = a.sendRequests;
    expect(receive).toMatchObject({ sandboxId: sleeper.id });
    expect(Buffer.from(receive.key, 'base64')).toHaveLength(32);
    expect(send).toEqual({ ...receive, to: TARGET });

    // While its saved state moves: waking, still on its node, which keeps it hibernated; a second wake starts no second move.
    expect(bodyOf<Sandbox>(await moves.t.api().post(`/v1/sandboxes/${sleeper.id}/wake`).set(as(moves.tenant)).expect(202))).toMatchObject({ state: 'waking', nodeId: a.nodeId });
    await moves.reaches(sleeper.id, { state: 'waking', nodeId: a.nodeId });
    expect((await desiredEntry(a, sleeper.id, (entry) => entry !== undefined))?.hibernated).toBe(true);
    expect(b.receiveRequests).toHaveLength(1);
    // The key is nowhere in what the API shows.
    const shown = JSON.stringify(bodyOf(await moves.t.api().get(`/v1/sandboxes/${sleeper.id}`).set(as(moves.tenant)).expect(200)));
    expect(shown).not.toContain(receive.key);

    finishSend({ ok: true, result: { bytes: SAVED_BYTES } });
    await moves.reaches(sleeper.id, { nodeId: b.nodeId, state: 'waking' });
    expect((await desiredEntry(b, sleeper.id, (entry) => entry !== undefined))?.hibernated).toBeUndefined();
    await desiredEntry(a, sleeper.id, (entry) => entry === undefined);
    b.status({ id: sleeper.id, state: 'running', timings: [] });
    await moves.reaches(sleeper.id, { nodeId: b.nodeId, state: 'running' });
    expect(b.receiveRequests).toHaveLength(1);

    const audit = bodyOf<{ items: { action: string; status: number; result: string; message: string | null }[] }>(
      await moves.t.api().get(`/v1/audit?targetId=${sleeper.id}&action=sandbox.move`).set(as(moves.tenant)).expect(200),
    ).items;
    expect(audit).toEqual([
      expect.objectContaining({ result: 'success', message: `from node ${a.nodeId} to node ${b.nodeId}: ${SAVED_BYTES} bytes` }),
    ]);
    expect(JSON.stringify(audit)).not.toContain(receive.key);
  });

  itIf(!skip)('refuses to wake a sandbox whose saved state is on a node that is down', async () => {
    const a = await moves.agent();
    const sleeper = await hibernatedOn(a);
    const b = await moves.agent();
    a.close();
    await eventually(async () => expect(bodyOf<{ state: string }>(await moves.t.api().get(`/v1/nodes/${a.nodeId}`).set(moves.t.admin()).expect(200)).state).toBe('down'));

    const refused = await moves.t.api().post(`/v1/sandboxes/${sleeper.id}/wake`).set(as(moves.tenant)).expect(409);
    const name = `node-${a.nodeId.slice(0, 8)}`;
    expect(refused.body.error).toEqual({
      code: 'SAVED_STATE_UNREACHABLE',
      message: `the saved state of sandbox ${sleeper.id} is on node ${name}, which is down; it can wake when ${name} is back`,
    });
    await moves.reaches(sleeper.id, { state: 'hibernated', nodeId: a.nodeId });
    expect(b.receiveRequests).toEqual([]);
  });

  itIf(!skip)('leaves the sandbox hibernated on its node when the move fails, with the reason; wake-on-use says so', async () => {
    const a = await moves.agent();
    const sleeper = await hibernatedOn(a);
    const b = await moves.agent();
    b.onReceive = () => ({ ok: true, result: TARGET });
    a.onSend = () => ({ ok: false, error: { code: 'MOVE_CONNECT_FAILED', message: 'the target did not answer' } });
    await moves.t.api().post(`/v1/nodes/${a.nodeId}/cordon`).set(moves.t.admin()).expect(200);

    await moves.t.api().post(`/v1/sandboxes/${sleeper.id}/wake`).set(as(moves.tenant)).expect(202);
    const failed = await moves.reaches(sleeper.id, { state: 'hibernated', nodeId: a.nodeId });
    expect(failed.events.at(-1)).toMatchObject({
      state: 'hibernated',
      reason: { code: 'MOVE_FAILED', message: `sending from node ${a.nodeId}: MOVE_CONNECT_FAILED: the target did not answer` },
    });
    expect((await desiredEntry(a, sleeper.id, (entry) => entry !== undefined))?.hibernated).toBe(true);
    expect(b.desired.flatMap((d) => d.sandboxes).map((s) => s.id)).not.toContain(sleeper.id);
    // Nothing stays booked on the target.
    expect(bodyOf<{ allocated: { vcpus: number } }>(await moves.t.api().get(`/v1/nodes/${b.nodeId}`).set(moves.t.admin()).expect(200)).allocated.vcpus).toBe(0);

    // An exec wakes it the same way, and the move fails again.
    const exec = await moves.t.api().post(`/v1/sandboxes/${sleeper.id}/exec`).set(as(moves.tenant)).send({ command: ['true'] }).expect(502);
    expect(exec.body.error.code).toBe('WAKE_FAILED');
    expect(exec.body.error.message).toContain('MOVE_FAILED: sending from node');
    expect(b.receiveRequests).toHaveLength(2);

    const audit = bodyOf<{ items: { result: string; status: number }[] }>(
      await moves.t.api().get(`/v1/audit?targetId=${sleeper.id}&action=sandbox.move`).set(as(moves.tenant)).expect(200),
    ).items;
    expect(audit.map((e) => [e.result, e.status])).toEqual([
      ['failure', 502],
      ['failure', 502],
    ]);
  });

  itIf(!skip)('refuses a wake that fits neither on its full node nor on another, naming the largest free capacity', async () => {
    const a = await moves.agent();
    const sleeper = await hibernatedOn(a);
    // Its node fills up while it sleeps: 8192 - 1024 reserved = 7168 MiB, less 6000 + 160 MiB.
    const filler = bodyOf<Sandbox>(await moves.t.api().post('/v1/sandboxes').set(as(moves.tenant)).send({ memoryMiB: 6000 }).expect(201));
    expect(filler.nodeId).toBe(a.nodeId);
    // The other has 2048 - 1024 reserved = 1024 MiB: not 1024 + 160.
    const b = await moves.agent({ vcpus: 4, memoryMiB: 2048 });

    const refused = await moves.t.api().post(`/v1/sandboxes/${sleeper.id}/wake`).set(as(moves.tenant)).expect(409);
    expect(refused.body.error.code).toBe('INSUFFICIENT_RESOURCES');
    expect(refused.body.error.message).toBe(
      `sandbox ${sleeper.id} cannot wake on node node-${a.nodeId.slice(0, 8)}, which has no room for it ` +
        `(1184 MiB needed (1 × 1024 MiB + 160 MiB overhead), 1008 MiB free), nor on another: ` +
        'no ready node has 1184 MiB free (1024 MiB + 160 MiB overhead); largest free: 1024 MiB',
    );
    await moves.reaches(sleeper.id, { state: 'hibernated', nodeId: a.nodeId });
    expect((await desiredEntry(a, sleeper.id, (entry) => entry !== undefined))?.hibernated).toBe(true);
    expect(b.receiveRequests).toEqual([]);
  });
});
