import { Injectable } from '@nestjs/common';
import type { ErrorInfo, SandboxMigrateOutReply } from '@moat/proto';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../../auth/principal';
import { ApiError, ErrorCode } from '../../common/api.error';
import { AgentChannel } from '../../fleet/agent.channel';
import { NodeEntity } from '../../nodes/node.entity';
import { bumpSchedulerEpoch } from '../../scheduler/capacity-index';
import { loadNodeRoom, roomShortfall } from '../../scheduler/node-room';
import { SchedulerService } from '../../scheduler/scheduler.service';
import { appendEvent, EventReason } from '../model/sandbox-events';
import type { SandboxEntity } from '../model/sandbox.entity';
import { migrationRefusal, targetRefusal } from './migration-plan';
import { MoveRunner, type Move, type MoveKind, type MoveOutcome } from './move-runner';

/**
 * Live migration of a running `rootfs: "block"` sandbox to another node (see MoveRunner): it
 * runs on its own node (`migrating`) while `sandbox:migrate-in` has the target open a port and
 * `sandbox:migrate-out` has the source send its VM there (QEMU pre-copy, the writable disk in
 * the same stream), answered once the target runs it; then it is placed on the target. A
 * failure leaves it running on its own node, its latest event MIGRATION_FAILED with the node's
 * error.
 */
@Injectable()
export class SandboxMigrator {
  constructor(
    private readonly scheduler: SchedulerService,
    private readonly agents: AgentChannel,
    private readonly moves: MoveRunner,
  ) {}

  /**
   * In the caller's transaction: checks that the sandbox can migrate (see migrationRefusal), takes
   * the scheduler's lock, picks its target — `nodeId` when given (see targetRefusal), else where
   * the scheduler places it among the other nodes (INSUFFICIENT_RESOURCES when none fits) — and
   * books it there, `migrating`, with `event(to)` (default: MIGRATING). Undefined when a
   * concurrent request started a move first.
   */
  async begin(manager: EntityManager, sandbox: SandboxEntity, nodeId: string | undefined, event?: (to: string) => ErrorInfo): Promise<Move | undefined> {
    const refusal = migrationRefusal(sandbox);
    if (refusal) throw new ApiError(refusal.code, refusal.message);
    await bumpSchedulerEpoch(manager);
    const to = await this.target(manager, sandbox, nodeId);
    const from = sandbox.nodeId as string;
    const reason = event?.(to) ?? { code: EventReason.MIGRATING, message: `migrating to node ${to} from node ${from} while it runs` };
    return this.moves.begin(manager, sandbox, to, 'live', reason, new Date());
  }

  /**
   * After the booking committed, in the background: the migration, then the sandbox placed on
   * the target or left running on its node; audited as `sandbox.migrate` for `actor`. Resolves
   * with the outcome; never rejects.
   */
  run(move: Move, actor: Principal): Promise<MoveOutcome<SandboxMigrateOutReply> | undefined> {
    return this.moves.run(move, actor, this.kind);
  }

  private async target(manager: EntityManager, sandbox: SandboxEntity, nodeId: string | undefined): Promise<string> {
    const from = sandbox.nodeId as string;
    if (nodeId === undefined) {
      const found = await this.scheduler.placeElsewhere(manager, sandbox, from);
      if ('nodeId' in found) return found.nodeId;
      throw new ApiError(ErrorCode.INSUFFICIENT_RESOURCES, `sandbox ${sandbox.id} cannot migrate: no other node can take it: ${found.reason.message}`);
    }
    const node = await manager.findOneBy(NodeEntity, { id: nodeId });
    const shortfall =
      node?.state === 'ready' && node.id !== from ? roomShortfall(await loadNodeRoom(manager, node, this.scheduler.overcommitFallback), sandbox, 1) : undefined;
    const refusal = targetRefusal(node, nodeId, sandbox, shortfall);
    if (refusal) throw new ApiError(refusal.code, refusal.message);
    return nodeId;
  }

  /** A live migration, as MoveRunner runs and settles it. */
  readonly kind: MoveKind<SandboxMigrateOutReply> = {
    what: 'migration',
    action: 'sandbox.migrate',
    failure: EventReason.MIGRATION_FAILED,
    receive: (nodeId, ref) => this.agents.migrateIn(nodeId, ref),
    send: (nodeId, request) => this.agents.migrateOut(nodeId, request),
    settle: (sandbox, move, outcome, now) => settleMigration(sandbox, move, outcome, now),
    figures: migrationFigures,
  };
}

/** "N bytes, downtime D ms, total T ms": what a migration's audit entry and event say of it. */
export function migrationFigures({ bytes, downtimeMs, totalMs }: SandboxMigrateOutReply): string {
  return `${bytes} bytes, downtime ${Math.round(downtimeMs)} ms, total ${Math.round(totalMs)} ms`;
}

/**
 * The sandbox as a migration leaves it: running on the target (MIGRATED, with the figures or what
 * the nodes' heartbeats showed), or
 * — it failed — running on its own node again with the failure (MIGRATION_FAILED) as its latest
 * event; a sandbox its node reported otherwise meanwhile (failed) keeps that state.
 */
export function settleMigration(sandbox: SandboxEntity, move: Move, outcome: MoveOutcome<SandboxMigrateOutReply>, now: Date): void {
  if ('error' in outcome) {
    const state = sandbox.state === 'migrating' ? 'running' : sandbox.state;
    Object.assign(sandbox, { state, events: appendEvent(sandbox.events, state, now, outcome.error) });
    return;
  }
  const how = 'result' in outcome ? migrationFigures(outcome.result) : outcome.found;
  const reason = { code: EventReason.MIGRATED, message: `running on node ${move.to}, migrated from node ${move.from}: ${how}` };
  Object.assign(sandbox, { nodeId: move.to, placedAt: now, state: 'running', events: appendEvent(sandbox.events, 'running', now, reason) });
}
