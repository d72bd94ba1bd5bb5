import { Injectable } from '@nestjs/common';
import type { ErrorInfo } from '@moat/proto';
import { EntityManager, In, IsNull, Not } from 'typeorm';
import { chunks, chunksServingTheLoop, IN_LIST_CHUNK } from '../../common/chunks';
import { groupBy } from '../../common/group-by';
import { yieldToEventLoop } from '../../common/yield';
import { columnValues, insertRows, updateRowsById } from '../../database/raw-query';
import { EventReason, withEvent, type SandboxEvent } from './sandbox-events';
import { SandboxEntity, type SandboxHealth } from './sandbox.entity';

/** Rows stored between two turns of the event loop (`insertRows` sizes its statements itself). */
const INSERT_CHUNK = 500;
/** The text columns a status report may change, besides `updatedAt`. */
const STATUS_COLUMNS = ['state', 'progress', 'timings', 'guest', 'ip', 'ports', 'transport', 'isolation', 'error', 'events'] as const;
/**
 * The other columns a status report may change: a batched update takes per-row values as text
 * on PostgreSQL (see updateRowsById), so these are stored grouped by value, for the rows whose
 * value changed only.
 */
export type TypedStatusColumn = 'restartAt' | 'savedBytes' | 'desiredHibernated';
/** The columns a restart changes besides `restartCount`, `restartAt` and `updatedAt`. */
const RESTART_COLUMNS = ['state', 'error', 'progress', 'events'] as const;

/**
 * The one writer of the `sandboxes` table: every statement that inserts, changes or removes
 * sandbox rows is here, batched (multi-row inserts, `updateRowsById`, `IN` lists), so a fleet's
 * worth of placements, status reports and replica changes costs a few statements per batch.
 * Every method takes the EntityManager of the caller's transaction; the callers decide what
 * changes, this decides how it is stored. Long runs of chunks let the event loop in between
 * (a transaction on SQLite holds it until it commits), a single chunk does not.
 */
@Injectable()
export class SandboxesRepository {
  /** Stores new sandboxes (pending or already placed). */
  async insert(manager: EntityManager, sandboxes: readonly SandboxEntity[]): Promise<void> {
    for await (const chunk of chunksServingTheLoop(sandboxes, INSERT_CHUNK)) {
      await insertRows(manager, SandboxEntity, chunk);
    }
  }

  /** The rows of these sandboxes, read in `IN` lists. */
  async findByIds(manager: EntityManager, ids: readonly string[]): Promise<SandboxEntity[]> {
    const found: SandboxEntity[] = [];
    for (const chunk of chunks([...new Set(ids)], IN_LIST_CHUNK)) found.push(...(await manager.findBy(SandboxEntity, { id: In(chunk) })));
    return found;
  }

  /**
   * Gives older pending sandboxes the nodes chosen for them, in a few statements (under
   * `spread` every sandbox of a batch lands on a different node, so one UPDATE per node would
   * be one per sandbox), and clears why they waited. Only rows still unplaced and wanted are
   * touched.
   */
  async assignNodes(manager: EntityManager, sandboxes: readonly SandboxEntity[], now: Date): Promise<void> {
    await updateRowsById(
      manager,
      'sandboxes',
      sandboxes.map((sandbox) => ({ id: sandbox.id, values: { nodeId: sandbox.nodeId } })),
      {
        shared: columnValues(manager, SandboxEntity, { placedAt: now, updatedAt: now, pendingReason: null }, ['placedAt', 'updatedAt', 'pendingReason']),
        where: `"nodeId" IS NULL AND "desiredState" = 'running'`,
      },
    );
  }

  /**
   * Stores why these unplaced sandboxes still wait (their `pendingReason`, set on the entities);
   * the caller passes only those whose reason changed. Rows placed meanwhile are not touched.
   */
  async storePendingReasons(manager: EntityManager, sandboxes: readonly SandboxEntity[], now: Date): Promise<void> {
    await updateRowsById(
      manager,
      'sandboxes',
      sandboxes.map((sandbox) => ({ id: sandbox.id, values: columnValues(manager, SandboxEntity, sandbox, ['pendingReason']) })),
      {
        shared: columnValues(manager, SandboxEntity, { updatedAt: now }, ['updatedAt']),
        where: `"nodeId" IS NULL AND "desiredState" = 'running'`,
      },
    );
  }

  /**
   * Stores what a batch of status reports changed: every changed row's text columns, and the
   * typed columns of the rows listed for each.
   */
  async storeObserved(
    manager: EntityManager,
    changed: readonly SandboxEntity[],
    typedChanged: ReadonlyMap<TypedStatusColumn, Iterable<SandboxEntity>>,
    at: Date,
  ): Promise<void> {
    await updateRowsById(
      manager,
      'sandboxes',
      changed.map((sandbox) => ({ id: sandbox.id, values: columnValues(manager, SandboxEntity, sandbox, STATUS_COLUMNS) })),
      { shared: columnValues(manager, SandboxEntity, { updatedAt: at }, ['updatedAt']) },
    );
    for (const [column, sandboxes] of typedChanged) {
      for (const group of groupBy([...sandboxes], (sandbox) => valueKey(sandbox[column])).values()) {
        await updateRowsById(
          manager,
          'sandboxes',
          group.map((sandbox) => ({ id: sandbox.id, values: {} })),
          { shared: columnValues(manager, SandboxEntity, group[0], [column]) },
        );
      }
    }
  }

  /** Stores a hibernate (true) or wake (false) request on a sandbox still meant to run; its state is the node's to report. */
  async storeHibernation(manager: EntityManager, id: string, desiredHibernated: boolean, now: Date): Promise<void> {
    await manager.update(SandboxEntity, { id, desiredState: 'running' }, { desiredHibernated, updatedAt: now });
  }

  /**
   * Starts a move of a sandbox from its node to `to` (see `movingTo`), booking it there: a
   * hibernated one's saved state (`wake`: it is to wake there, `waking` meanwhile), or a running
   * one's VM (`live`: `migrating` meanwhile, `liveMove`), with `events`. Only a sandbox still so
   * on `from` with no move under way is changed; whether it was (a concurrent request may have
   * started one first).
   */
  async startMove(
    manager: EntityManager,
    move: { id: string; from: string; to: string; kind: 'wake' | 'live' },
    events: readonly SandboxEvent[],
    now: Date,
  ): Promise<boolean> {
    const common = { movingTo: move.to, events: [...events], updatedAt: now };
    const { affected } = await manager
      .createQueryBuilder()
      .update(SandboxEntity)
      .set(move.kind === 'wake' ? { ...common, desiredHibernated: false, state: 'waking' } : { ...common, liveMove: true, state: 'migrating' })
      .where({
        id: move.id,
        nodeId: move.from,
        movingTo: IsNull(),
        desiredState: 'running',
        ...(move.kind === 'wake' ? { desiredHibernated: true, state: 'hibernated' } : { desiredHibernated: false, state: 'running' }),
      })
      .updateEntity(false)
      .execute();
    return affected === 1;
  }

  /** Sandboxes meant to run with a move under way (`movingTo` set). */
  findMoving(manager: EntityManager): Promise<SandboxEntity[]> {
    return manager.find(SandboxEntity, { where: { movingTo: Not(IsNull()), desiredState: 'running' } });
  }

  /**
   * Ends a move from `from` to `to` as the caller decided (placed on `to`, or hibernated or
   * running on `from` again: the sandbox's `nodeId`, `placedAt`, `desiredHibernated`, `state` and `events`),
   * if it is still under way on a sandbox meant to run; whether it was.
   */
  async endMove(
    manager: EntityManager,
    move: { from: string; to: string },
    sandbox: Pick<SandboxEntity, 'id' | 'nodeId' | 'placedAt' | 'desiredHibernated' | 'state' | 'events' | 'updatedAt'>,
  ): Promise<boolean> {
    const { id, nodeId, placedAt, desiredHibernated, state, events, updatedAt } = sandbox;
    const { affected } = await manager
      .createQueryBuilder()
      .update(SandboxEntity)
      .set({ nodeId, placedAt, desiredHibernated, state, events, updatedAt, movingTo: null, liveMove: false })
      .where({ id, nodeId: move.from, movingTo: move.to, desiredState: 'running' })
      .updateEntity(false)
      .execute();
    return affected === 1;
  }

  /** Stores events the control plane tells of on a sandbox without changing its state (a drain's plan for it). */
  async storeEvents(manager: EntityManager, id: string, events: readonly SandboxEvent[], now: Date): Promise<void> {
    await manager.update(SandboxEntity, { id }, { events: [...events], updatedAt: now });
  }

  /** Stores a fork: its clones, already placed on their source's node, and the source's events telling of them. */
  async storeFork(manager: EntityManager, source: Pick<SandboxEntity, 'id' | 'events'>, clones: readonly SandboxEntity[], now: Date): Promise<void> {
    await this.insert(manager, clones);
    await manager.update(SandboxEntity, { id: source.id }, { events: source.events, updatedAt: now });
  }

  /**
   * Asks placed sandboxes to go: desired `deleted`, `stopping` until their node reports them
   * gone, no restart due; each with a `DELETED` event giving its message. Returns the events
   * stored per id.
   */
  async stop(manager: EntityManager, stops: readonly { id: string; message: string }[], now: Date): Promise<Map<string, SandboxEvent[]>> {
    const stored = new Map<string, SandboxEvent[]>();
    for await (const chunk of chunksServingTheLoop(stops, IN_LIST_CHUNK)) {
      const rows = await manager.find(SandboxEntity, { select: { id: true, events: true }, where: { id: In(chunk.map((s) => s.id)) } });
      const eventsById = new Map(rows.map((row) => [row.id, row.events]));
      const updates = chunk.map(({ id, message }) => {
        const events = withEvent(eventsById.get(id) ?? [], 'stopping', now, { code: EventReason.DELETED, message });
        stored.set(id, events);
        return { id, values: columnValues(manager, SandboxEntity, { desiredState: 'deleted', state: 'stopping', events }, ['desiredState', 'state', 'events']) };
      });
      await updateRowsById(manager, 'sandboxes', updates, {
        shared: columnValues(manager, SandboxEntity, { restartAt: null, updatedAt: now }, ['restartAt', 'updatedAt']),
      });
    }
    return stored;
  }

  /** Removes the rows of these sandboxes at once (never placed, so no node has to stop them). */
  async remove(manager: EntityManager, ids: readonly string[]): Promise<void> {
    for await (const chunk of chunksServingTheLoop(ids, IN_LIST_CHUNK)) {
      await manager.delete(SandboxEntity, { id: In(chunk) });
    }
  }

  /** Removes the rows of sandboxes being deleted that their node no longer has. */
  async removeGone(manager: EntityManager, ids: readonly string[]): Promise<void> {
    for (const chunk of chunks(ids, IN_LIST_CHUNK)) await manager.delete(SandboxEntity, { id: In(chunk), desiredState: 'deleted' });
  }

  /**
   * Stores restarts decided by the restart loop: `restartCount` moves on by one in the
   * database, and each sandbox's new state, error, progress and events (set on the entities).
   */
  async storeRestarts(manager: EntityManager, restarted: readonly SandboxEntity[], now: Date): Promise<void> {
    for (const chunk of chunks(restarted, IN_LIST_CHUNK)) {
      await manager
        .createQueryBuilder()
        .update(SandboxEntity)
        .set({ restartCount: () => '"restartCount" + 1' })
        .where({ id: In(chunk.map((sandbox) => sandbox.id)) })
        .updateEntity(false)
        .execute();
    }
    await updateRowsById(
      manager,
      'sandboxes',
      restarted.map((sandbox) => ({ id: sandbox.id, values: columnValues(manager, SandboxEntity, sandbox, RESTART_COLUMNS) })),
      { shared: columnValues(manager, SandboxEntity, { restartAt: null, updatedAt: now }, ['restartAt', 'updatedAt']) },
    );
  }

  /** Stores health verdicts, one statement per verdict and chunk; `healthySince` is `now` for healthy ones. */
  async storeHealth(manager: EntityManager, changed: ReadonlyMap<SandboxHealth, readonly string[]>, now: Date): Promise<void> {
    for (const [health, ids] of changed) {
      for (const chunk of chunks(ids, IN_LIST_CHUNK)) {
        await manager
          .createQueryBuilder()
          .update(SandboxEntity)
          .set({ health, healthySince: health === 'healthy' ? now : null })
          .where({ id: In(chunk) })
          .updateEntity(false)
          .execute();
        await yieldToEventLoop();
      }
    }
  }

  /**
   * Marks the pending sandboxes placed on these nodes `unknown` (the control plane restarted
   * and their nodes have not said hello since): their VMs may well run.
   */
  async markPendingUnknown(manager: EntityManager, nodeIds: readonly string[], reason: ErrorInfo, now: Date): Promise<void> {
    for (const chunk of chunks(nodeIds, IN_LIST_CHUNK)) {
      const waiting = await manager.find(SandboxEntity, {
        select: { id: true, events: true },
        where: { nodeId: In(chunk), desiredState: 'running', state: 'pending' },
      });
      await this.storeUnknown(manager, waiting, reason, now, `"state" = 'pending'`);
    }
  }

  /**
   * Marks the sandboxes a down node should run `unknown`; returns them as stored now. A
   * hibernated one stays hibernated: it has no VM that could have changed, only its saved state
   * on the node's disk.
   */
  async markNodeSandboxesUnknown(manager: EntityManager, nodeId: string, reason: ErrorInfo, now: Date): Promise<SandboxEntity[]> {
    const affected = await manager.find(SandboxEntity, {
      where: { nodeId, desiredState: 'running', state: Not(In(['failed', 'unknown', 'hibernated'])) },
    });
    return this.storeUnknown(manager, affected, reason, now);
  }

  private async storeUnknown<S extends Pick<SandboxEntity, 'id' | 'events'>>(
    manager: EntityManager,
    sandboxes: readonly S[],
    reason: ErrorInfo,
    now: Date,
    where?: string,
  ): Promise<(S & Pick<SandboxEntity, 'state' | 'updatedAt'>)[]> {
    const unknown = sandboxes.map((s) => ({ ...s, state: 'unknown' as const, events: withEvent(s.events, 'unknown', now, reason), updatedAt: now }));
    await updateRowsById(
      manager,
      'sandboxes',
      unknown.map((s) => ({ id: s.id, values: columnValues(manager, SandboxEntity, s, ['state', 'events']) })),
      { shared: columnValues(manager, SandboxEntity, { updatedAt: now }, ['updatedAt']), ...(where && { where }) },
    );
    return unknown;
  }
}

/** A key grouping equal column values (dates by their time). */
function valueKey(value: Date | number | boolean | null): string {
  return String(value instanceof Date ? value.getTime() : value);
}
