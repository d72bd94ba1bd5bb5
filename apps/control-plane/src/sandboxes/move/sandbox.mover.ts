import { Injectable, Logger } from '@nestjs/common';
import { MOVE_KEY_BYTES, type ErrorInfo } from '@moat/proto';
import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import type { Principal } from '../../auth/principal';
import { ApiError, ErrorCode } from '../../common/api.error';
import { Transactions } from '../../database/transactions.service';
import { AgentChannel } from '../../fleet/agent.channel';
import { DesiredStatePublisher } from '../../fleet/desired-state.publisher';
import { NodeEntity } from '../../nodes/node.entity';
import { bumpSchedulerEpoch } from '../../scheduler/capacity-index';
import { loadNodeRoom, roomShortfall } from '../../scheduler/node-room';
import { SchedulerService } from '../../scheduler/scheduler.service';
import { SandboxAnnouncer } from '../announce/sandbox.announcer';
import { appendEvent, EventReason, withEvent } from '../model/sandbox-events';
import { SandboxEntity } from '../model/sandbox.entity';
import { SandboxesRepository } from '../model/sandboxes.repository';
import { wakePlacement } from './wake-placement';

/** A move under way: the sandbox, the node its saved state is on, the node it goes to. */
export interface Move {
  sandboxId: string;
  tenantId: string;
  from: string;
  to: string;
}

/**
 * Wakes a hibernated sandbox on another node when its own cannot take it, moving its saved
 * state there. The control plane only arranges the move (see the fleet protocol's
 * sandbox-move.schemas): a one-time key to both nodes, `sandbox:receive` on the target, then
 * `sandbox:send` on the source with the target's address; the bytes go from node to node. The
 * key is never logged or stored.
 */
@Injectable()
export class SandboxMover {
  private readonly logger = new Logger(SandboxMover.name);

  constructor(
    private readonly transactions: Transactions,
    private readonly rows: SandboxesRepository,
    private readonly scheduler: SchedulerService,
    private readonly agents: AgentChannel,
    private readonly publisher: DesiredStatePublisher,
    private readonly announcer: SandboxAnnouncer,
    private readonly audit: AuditService,
  ) {}

  /**
   * Where a hibernated sandbox that gave up its VM is to wake, in the wake's transaction (which
   * holds the scheduler's lock): undefined for its own node, else the node the scheduler chose
   * for it. SAVED_STATE_UNREACHABLE while its node is down; INSUFFICIENT_RESOURCES when its node
   * cannot take it and no other can either (with the largest free capacity, as for a create).
   */
  async destination(manager: EntityManager, sandbox: SandboxEntity): Promise<string | undefined> {
    const nodeId = sandbox.nodeId as string;
    const node = await manager.findOneBy(NodeEntity, { id: nodeId });
    const shortfall = node?.state === 'ready' ? roomShortfall(await loadNodeRoom(manager, node, this.scheduler.overcommitFallback), sandbox, 1) : undefined;
    const placement = wakePlacement(node, shortfall);
    const name = node?.name ?? nodeId;
    switch (placement.kind) {
      case 'here':
        return undefined;
      case 'unreachable':
        throw new ApiError(
          ErrorCode.SAVED_STATE_UNREACHABLE,
          `the saved state of sandbox ${sandbox.id} is on node ${name}, which ${placement.why}; it can wake when ${name} is back`,
        );
      case 'elsewhere': {
        const found = await this.scheduler.placeElsewhere(manager, sandbox, nodeId);
        if ('nodeId' in found) return found.nodeId;
        throw new ApiError(
          ErrorCode.INSUFFICIENT_RESOURCES,
          `sandbox ${sandbox.id} cannot wake on node ${name}, which ${placement.why}, nor on another: ${found.reason.message}`,
        );
      }
    }
  }

  /**
   * In the wake's transaction: books the sandbox on `to` and has it `waking` there (its own node
   * keeps it hibernated meanwhile); sets what it stored on `sandbox`. Undefined when a concurrent
   * request changed the sandbox first (another wake started its move): nothing is stored.
   */
  async begin(manager: EntityManager, sandbox: SandboxEntity, to: string, now: Date): Promise<Move | undefined> {
    const move = { sandboxId: sandbox.id, tenantId: sandbox.tenantId, from: sandbox.nodeId as string, to };
    const events = appendEvent(sandbox.events, 'waking', now, { code: EventReason.MOVING, message: `waking on node ${to}: its saved state moves there from node ${move.from}` });
    if (!(await this.rows.startMove(manager, { id: sandbox.id, from: move.from, to }, events, now))) return undefined;
    Object.assign(sandbox, { movingTo: to, desiredHibernated: false, state: 'waking', events, updatedAt: now });
    return move;
  }

  /**
   * After the wake committed, in the background: moves the saved state, then places the sandbox
   * on its new node (which wakes it) — or, when the move failed, leaves it hibernated on its own
   * with the reason (`MOVE_FAILED`: the node's error) as its latest event. Audited as
   * `sandbox.move` for `actor`. Never rejects.
   */
  async run(move: Move, actor: Principal): Promise<void> {
    try {
      const outcome = await this.transfer(move);
      const sandbox = await this.end(move, outcome);
      this.record(move, actor, outcome);
      if (!sandbox) {
        this.logger.warn({ sandboxId: move.sandboxId, from: move.from, to: move.to }, 'moved sandbox was deleted meanwhile');
        return;
      }
      this.announcer.updated(sandbox);
      await this.publisher.nodesChanged([move.from, move.to]);
      // Its room on the target is free again.
      if ('error' in outcome) await this.scheduler.placePending();
    } catch (err) {
      this.logger.error({ err, sandboxId: move.sandboxId, from: move.from, to: move.to }, 'sandbox move failed to complete');
    }
  }

  /** The move itself, node to node: how many bytes went, or why it failed. */
  private async transfer(move: Move): Promise<{ bytes: number } | { error: ErrorInfo }> {
    const ref = { moveId: randomUUID(), sandboxId: move.sandboxId, key: randomBytes(MOVE_KEY_BYTES).toString('base64') };
    let step = `receiving on node ${move.to}`;
    try {
      const to = await this.agents.receive(move.to, ref);
      step = `sending from node ${move.from}`;
      const { bytes } = await this.agents.send(move.from, { ...ref, to });
      return { bytes };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.logger.warn({ sandboxId: move.sandboxId, moveId: ref.moveId, from: move.from, to: move.to, err: message }, 'sandbox move failed');
      return { error: { code: EventReason.MOVE_FAILED, message: `${step}: ${message}` } };
    }
  }

  /** Stores how the move ended; the sandbox as stored, or undefined when it was deleted meanwhile. */
  private end(move: Move, outcome: { bytes: number } | { error: ErrorInfo }): Promise<SandboxEntity | undefined> {
    return this.transactions.run(async (manager) => {
      // Its vCPUs and memory leave the target on a failure; the nodes' counts change either way.
      await bumpSchedulerEpoch(manager);
      const sandbox = await manager.findOneBy(SandboxEntity, { id: move.sandboxId, nodeId: move.from, movingTo: move.to, desiredState: 'running' });
      if (!sandbox) return undefined;
      const now = new Date();
      if ('error' in outcome) {
        Object.assign(sandbox, { desiredHibernated: true, state: 'hibernated', events: appendEvent(sandbox.events, 'hibernated', now, outcome.error) });
      } else {
        // Asked to hibernate again meanwhile, it stays so on its new node.
        const state = sandbox.desiredHibernated ? 'hibernated' : 'waking';
        Object.assign(sandbox, { nodeId: move.to, placedAt: now, state, events: withEvent(sandbox.events, state, now) });
      }
      Object.assign(sandbox, { movingTo: null, updatedAt: now });
      return (await this.rows.endMove(manager, move, sandbox)) ? sandbox : undefined;
    });
  }

  private record(move: Move, actor: Principal, outcome: { bytes: number } | { error: ErrorInfo }): void {
    const ok = 'bytes' in outcome;
    this.audit.record({
      actorKind: actor.kind,
      actorId: actor.kind === 'admin' ? 'admin' : actor.keyId,
      tenantId: move.tenantId,
      action: 'sandbox.move',
      targetType: 'sandbox',
      targetId: move.sandboxId,
      result: ok ? 'success' : 'failure',
      status: ok ? 200 : 502,
      message: `from node ${move.from} to node ${move.to}: ${ok ? `${outcome.bytes} bytes` : `${outcome.error.code}: ${outcome.error.message}`}`,
    });
  }
}
