import { Injectable, Logger } from '@nestjs/common';
import { MOVE_KEY_BYTES, type ErrorInfo, type SandboxReceiveReply } from '@moat/proto';
import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import type { Principal } from '../../auth/principal';
import { Transactions } from '../../database/transactions.service';
import { DesiredStatePublisher } from '../../fleet/desired-state.publisher';
import { bumpSchedulerEpoch } from '../../scheduler/capacity-index';
import { SchedulerService } from '../../scheduler/scheduler.service';
import { SandboxAnnouncer } from '../announce/sandbox.announcer';
import { appendEvent } from '../model/sandbox-events';
import { SandboxEntity } from '../model/sandbox.entity';
import { SandboxesRepository } from '../model/sandboxes.repository';

/** A move under way: the sandbox, the node it is on, the node it goes to. */
export interface Move {
  sandboxId: string;
  tenantId: string;
  from: string;
  to: string;
}

/** What names a move to both nodes: its id, the sandbox, the one-time key (never logged or stored). */
export interface MoveRef {
  moveId: string;
  sandboxId: string;
  key: string;
}

/**
 * How a move ended: the source's answer, or why it failed (the failing step and the node's
 * error), or — a move whose runner died — the nodes' heartbeats showing the target holds it
 * (`found`: what they showed).
 */
export type MoveOutcome<R> = { result: R } | { error: ErrorInfo } | { found: string };

/** Who an audit entry of a move's outcome names: the caller who asked for it, or the node whose heartbeat settled it. */
type MoveActor = Principal | { kind: 'node'; nodeId: string };

/**
 * One kind of move between two nodes (a hibernated sandbox's saved state, a running one's VM):
 * the two requests that carry it — the target opens a port, the source connects and sends — and
 * how the sandbox is stored once it ended.
 */
export interface MoveKind<R> {
  /** For logs: "move", "migration". */
  what: string;
  /** The audit action of its outcome. */
  action: string;
  /** The event code of a failure. */
  failure: string;
  /** To the target: open a port for it; where the source is to connect. */
  receive(nodeId: string, ref: MoveRef): Promise<SandboxReceiveReply>;
  /** To the source: send it there; answered once the target has it. */
  send(nodeId: string, request: MoveRef & { to: SandboxReceiveReply }): Promise<R>;
  /** The stored sandbox as the move leaves it (on `move.to`, or on `move.from` again with the failure as its latest event). */
  settle(sandbox: SandboxEntity, move: Move, outcome: MoveOutcome<R>, now: Date): void;
  /** What the audit entry of a success says after "from node A to node B: ". */
  figures(result: R): string;
}

/**
 * The machinery every move between nodes shares (a hibernated sandbox woken on another node, a
 * live migration): booking the target (`movingTo`, one move per sandbox at a time), the move id
 * and one-time key to both nodes, the two requests, then storing the outcome (placement switched
 * or left), both nodes' desired sets, the announcement and the audit entry. The control plane
 * only arranges a move (see the fleet protocol's sandbox-move.schemas); the bytes go from node
 * to node. The key is never logged or stored.
 */
@Injectable()
export class MoveRunner {
  private readonly logger = new Logger(MoveRunner.name);
  /** The sandboxes whose move this process runs now. */
  private readonly running = new Set<string>();

  constructor(
    private readonly transactions: Transactions,
    private readonly rows: SandboxesRepository,
    private readonly scheduler: SchedulerService,
    private readonly publisher: DesiredStatePublisher,
    private readonly announcer: SandboxAnnouncer,
    private readonly audit: AuditService,
  ) {}

  /**
   * In the caller's transaction (which holds the scheduler's lock): books the sandbox on `to`
   * and stores it `waking` (a hibernated one's saved state, `wake`) or `migrating` (a running
   * one's VM, `live`) with `event`; sets what it stored on `sandbox`. Undefined when a
   * concurrent request changed the sandbox first (it started a move): nothing is stored.
   */
  async begin(manager: EntityManager, sandbox: SandboxEntity, to: string, kind: 'wake' | 'live', event: ErrorInfo, now: Date): Promise<Move | undefined> {
    const move = { sandboxId: sandbox.id, tenantId: sandbox.tenantId, from: sandbox.nodeId as string, to };
    const state = kind === 'wake' ? 'waking' : 'migrating';
    const events = appendEvent(sandbox.events, state, now, event);
    if (!(await this.rows.startMove(manager, { id: sandbox.id, from: move.from, to, kind }, events, now))) return undefined;
    Object.assign(sandbox, { movingTo: to, state, events, updatedAt: now }, kind === 'wake' ? { desiredHibernated: false } : { liveMove: true });
    return move;
  }

  /**
   * After the booking committed, in the background: the move itself, then the sandbox stored as
   * `kind` settles it, both nodes told, audited as `kind.action` for `actor`. Resolves with the
   * outcome (undefined when the sandbox was deleted meanwhile or storing failed); never rejects.
   */
  async run<R>(move: Move, actor: Principal, kind: MoveKind<R>): Promise<MoveOutcome<R> | undefined> {
    this.running.add(move.sandboxId);
    try {
      return await this.finish(move, actor, kind, await this.transfer(move, kind));
    } finally {
      this.running.delete(move.sandboxId);
    }
  }

  /** Whether this process runs the sandbox's move now. */
  runs(sandboxId: string): boolean {
    return this.running.has(sandboxId);
  }

  /**
   * Ends a move whose runner died (see AbandonedMoves) as the nodes' heartbeats show it ended:
   * stored, both nodes told, announced and audited in the name of `holder`, the node whose
   * heartbeat decided it. Never rejects.
   */
  async settle<R>(move: Move, holder: string, kind: MoveKind<R>, outcome: { error: ErrorInfo } | { found: string }): Promise<void> {
    this.logger.warn({ sandboxId: move.sandboxId, from: move.from, to: move.to, outcome }, `settling an abandoned sandbox ${kind.what} from the nodes' heartbeats`);
    await this.finish(move, { kind: 'node', nodeId: holder }, kind, outcome);
  }

  /** Stores the outcome, tells both nodes and the dashboards, audits it; the outcome, or undefined when the sandbox is gone or storing failed. */
  private async finish<R>(move: Move, actor: MoveActor, kind: MoveKind<R>, outcome: MoveOutcome<R>): Promise<MoveOutcome<R> | undefined> {
    try {
      const sandbox = await this.end(move, kind, outcome);
      this.record(move, actor, kind, outcome);
      if (!sandbox) {
        this.logger.warn({ sandboxId: move.sandboxId, from: move.from, to: move.to }, `sandbox of a ${kind.what} was deleted meanwhile`);
        await this.publisher.nodesChanged([move.from, move.to]);
        return undefined;
      }
      this.announcer.updated(sandbox);
      await this.publisher.nodesChanged([move.from, move.to]);
      // Its room on the target is free again.
      if ('error' in outcome) await this.scheduler.placePending();
      return outcome;
    } catch (err) {
      this.logger.error({ err, sandboxId: move.sandboxId, from: move.from, to: move.to }, `sandbox ${kind.what} failed to complete`);
      return undefined;
    }
  }

  /** Node to node: the target opens a port, the source sends there; the source's answer, or why it failed. */
  private async transfer<R>(move: Move, kind: MoveKind<R>): Promise<MoveOutcome<R>> {
    const ref: MoveRef = { moveId: randomUUID(), sandboxId: move.sandboxId, key: randomBytes(MOVE_KEY_BYTES).toString('base64') };
    let step = `receiving on node ${move.to}`;
    try {
      const to = await kind.receive(move.to, ref);
      step = `sending from node ${move.from}`;
      return { result: await kind.send(move.from, { ...ref, to }) };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.logger.warn({ sandboxId: move.sandboxId, moveId: ref.moveId, from: move.from, to: move.to, err: message }, `sandbox ${kind.what} failed`);
      return { error: { code: kind.failure, message: `${step}: ${message}` } };
    }
  }

  /** Stores how the move ended; the sandbox as stored, or undefined when it was deleted meanwhile. */
  private end<R>(move: Move, kind: MoveKind<R>, outcome: MoveOutcome<R>): Promise<SandboxEntity | undefined> {
    return this.transactions.run(async (manager) => {
      // Its vCPUs and memory leave the target on a failure, or the source on a success; the nodes' counts change either way.
      await bumpSchedulerEpoch(manager);
      const sandbox = await manager.findOneBy(SandboxEntity, { id: move.sandboxId, nodeId: move.from, movingTo: move.to, desiredState: 'running' });
      if (!sandbox) return undefined;
      const now = new Date();
      kind.settle(sandbox, move, outcome, now);
      Object.assign(sandbox, { movingTo: null, liveMove: false, updatedAt: now });
      return (await this.rows.endMove(manager, move, sandbox)) ? sandbox : undefined;
    });
  }

  private record<R>(move: Move, actor: MoveActor, kind: MoveKind<R>, outcome: MoveOutcome<R>): void {
    const ok = !('error' in outcome);
    this.audit.record({
      actorKind: actor.kind,
      actorId: actor.kind === 'admin' ? 'admin' : actor.kind === 'node' ? actor.nodeId : actor.keyId,
      tenantId: move.tenantId,
      action: kind.action,
      targetType: 'sandbox',
      targetId: move.sandboxId,
      result: ok ? 'success' : 'failure',
      status: ok ? 200 : 502,
      message: `from node ${move.from} to node ${move.to}: ${outcomeText(kind, outcome)}`,
    });
  }
}

/** What an outcome's audit entry says after "from node A to node B: ". */
function outcomeText<R>(kind: MoveKind<R>, outcome: MoveOutcome<R>): string {
  if ('result' in outcome) return kind.figures(outcome.result);
  if ('found' in outcome) return outcome.found;
  return `${outcome.error.code}: ${outcome.error.message}`;
}
