import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ErrorInfo } from '@moat/proto';
import { AppConfig } from '../../config/app-config';
import { Transactions } from '../../database/transactions.service';
import type { SandboxEntity } from '../model/sandbox.entity';
import { SandboxesRepository } from '../model/sandboxes.repository';
import { MoveRunner, type Move } from './move-runner';
import { SandboxMigrator } from './sandbox-migrator';
import { SandboxMover } from './sandbox.mover';

/** A node's heartbeat as far as moves go: the sandboxes it holds, and when the control plane heard it. */
export interface HeldSandboxes {
  sandboxIds: readonly string[];
  receivedAt: Date;
}

/** How often moves under way are looked at for abandoned ones. */
const CHECK_MS = 30_000;

/** When the move under way began: the `migrating` or `waking` event its start appended last. */
export function moveStartedAt(sandbox: Pick<SandboxEntity, 'events' | 'liveMove'>): Date | undefined {
  const state = sandbox.liveMove ? 'migrating' : 'waking';
  const started = sandbox.events.findLast((event) => event.state === state);
  return started ? new Date(started.at) : undefined;
}

/**
 * How an abandoned move ended, from heartbeats both nodes sent after it was abandoned: while the
 * source still holds the sandbox it stays there (the move failed, or the target's copy was never
 * confirmed and the target drops it); once only the target holds it, it is there; with neither,
 * it stays placed on its source (whose node handles a sandbox it lacks as ever). Undefined while a node has not
 * heartbeaten since; `holder` is the node whose heartbeat decided.
 */
export function abandonedMoveOutcome(
  move: Move,
  since: Date,
  source: HeldSandboxes | undefined,
  target: HeldSandboxes | undefined,
  failure: string,
): { holder: string; outcome: { error: ErrorInfo } | { found: string } } | undefined {
  if (!source || !target || source.receivedAt < since || target.receivedAt < since) return undefined;
  const lost = 'the control plane lost track of it';
  if (source.sandboxIds.includes(move.sandboxId)) {
    return { holder: move.from, outcome: { error: { code: failure, message: `${lost}; node ${move.from} still holds it, so it stays there` } } };
  }
  if (target.sandboxIds.includes(move.sandboxId)) {
    return { holder: move.to, outcome: { found: `${lost}; node ${move.to} holds it and node ${move.from} no longer does` } };
  }
  return { holder: move.from, outcome: { error: { code: failure, message: `${lost}; neither node holds it, so it stays placed on node ${move.from}` } } };
}

/**
 * Moves whose runner died with its control-plane process (a crash or a restart mid-move), which
 * would otherwise stay `migrating` or `waking` for good, their target keeping an arrival nobody
 * placed there: once a move is older than `MOAT_MOVE_SETTLE_AFTER_MS` (past every transfer
 * timeout, so no live runner anywhere still has it) and no runner here has it, it is settled by
 * what the two nodes' heartbeats show, as MoveRunner would have (see abandonedMoveOutcome).
 * Both nodes keep what the move left them for twice that long (MOVE_ARRIVAL_GRACE_MS), so the
 * control plane decides before either acts on its own.
 */
@Injectable()
export class AbandonedMoves implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AbandonedMoves.name);
  /** The latest heartbeat of each node an abandoned move is between. */
  private readonly beats = new Map<string, HeldSandboxes>();
  /** Those nodes, as the last check found them. */
  private watched = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private readonly settleAfterMs: number;

  constructor(
    private readonly transactions: Transactions,
    private readonly rows: SandboxesRepository,
    private readonly runner: MoveRunner,
    private readonly migrator: SandboxMigrator,
    private readonly mover: SandboxMover,
    config: AppConfig,
  ) {
    this.settleAfterMs = config.fleet.moveSettleAfterMs;
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.check(), Math.min(CHECK_MS, this.settleAfterMs));
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Keeps the heartbeats of the nodes abandoned moves are between (the agent gateway hands over every batch). */
  observe(beats: ReadonlyMap<string, HeldSandboxes>): void {
    for (const nodeId of this.watched) {
      const beat = beats.get(nodeId);
      if (beat) this.beats.set(nodeId, beat);
    }
  }

  /** Settles every abandoned move both nodes have heartbeaten about since; notes the nodes of the others. Never rejects. */
  async check(now = new Date()): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const abandoned = (await this.transactions.run((manager) => this.rows.findMoving(manager))).flatMap((sandbox) => {
        const started = moveStartedAt(sandbox);
        const since = started && new Date(started.getTime() + this.settleAfterMs);
        const move = { sandboxId: sandbox.id, tenantId: sandbox.tenantId, from: sandbox.nodeId as string, to: sandbox.movingTo as string };
        return since && since <= now && !this.runner.runs(sandbox.id) ? [{ move, since, live: sandbox.liveMove }] : [];
      });
      this.watched = new Set(abandoned.flatMap(({ move }) => [move.from, move.to]));
      for (const nodeId of this.beats.keys()) if (!this.watched.has(nodeId)) this.beats.delete(nodeId);
      for (const { move, since, live } of abandoned) {
        const kind = live ? this.migrator.kind : this.mover.kind;
        const decided = abandonedMoveOutcome(move, since, this.beats.get(move.from), this.beats.get(move.to), kind.failure);
        if (decided) await this.runner.settle(move, decided.holder, kind, decided.outcome);
      }
    } catch (err) {
      this.logger.error({ err }, 'looking for abandoned sandbox moves failed');
    } finally {
      this.checking = false;
    }
  }
}
