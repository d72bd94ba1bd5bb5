import { Injectable } from '@nestjs/common';
import type { SandboxSendReply } from '@moat/proto';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../../auth/principal';
import { ApiError, ErrorCode } from '../../common/api.error';
import { AgentChannel } from '../../fleet/agent.channel';
import { NodeEntity } from '../../nodes/node.entity';
import { loadNodeRoom, roomShortfall } from '../../scheduler/node-room';
import { SchedulerService } from '../../scheduler/scheduler.service';
import { appendEvent, EventReason, withEvent } from '../model/sandbox-events';
import type { SandboxEntity } from '../model/sandbox.entity';
import { MoveRunner, type Move, type MoveKind } from './move-runner';
import { wakePlacement } from './wake-placement';

export type { Move } from './move-runner';

/**
 * Wakes a hibernated sandbox on another node when its own cannot take it, moving its saved
 * state there (see MoveRunner): `sandbox:receive` on the target, then `sandbox:send` on the
 * source with the target's address.
 */
@Injectable()
export class SandboxMover {
  constructor(
    private readonly scheduler: SchedulerService,
    private readonly agents: AgentChannel,
    private readonly moves: MoveRunner,
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
  begin(manager: EntityManager, sandbox: SandboxEntity, to: string, now: Date): Promise<Move | undefined> {
    const event = { code: EventReason.MOVING, message: `waking on node ${to}: its saved state moves there from node ${sandbox.nodeId as string}` };
    return this.moves.begin(manager, sandbox, to, 'wake', event, now);
  }

  /**
   * After the wake committed, in the background: moves the saved state, then places the sandbox
   * on its new node (which wakes it) — or, when the move failed, leaves it hibernated on its own
   * with the reason (`MOVE_FAILED`: the node's error) as its latest event. Audited as
   * `sandbox.move` for `actor`. Never rejects.
   */
  async run(move: Move, actor: Principal): Promise<void> {
    await this.moves.run(move, actor, this.kind);
  }

  /** A hibernated sandbox's saved state going to another node, as MoveRunner runs and settles it. */
  readonly kind: MoveKind<SandboxSendReply> = {
    what: 'move',
    action: 'sandbox.move',
    failure: EventReason.MOVE_FAILED,
    receive: (nodeId, ref) => this.agents.receive(nodeId, ref),
    send: (nodeId, request) => this.agents.send(nodeId, request),
    settle: (sandbox, move, outcome, now) => {
      if ('error' in outcome) {
        Object.assign(sandbox, { desiredHibernated: true, state: 'hibernated', events: appendEvent(sandbox.events, 'hibernated', now, outcome.error) });
      } else {
        // Asked to hibernate again meanwhile, it stays so on its new node.
        const state = sandbox.desiredHibernated ? 'hibernated' : 'waking';
        Object.assign(sandbox, { nodeId: move.to, placedAt: now, state, events: withEvent(sandbox.events, state, now) });
      }
    },
    figures: ({ bytes }) => `${bytes} bytes`,
  };
}
