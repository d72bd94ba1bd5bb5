import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, LessThanOrEqual, Not, Repository } from 'typeorm';
import { holdsAdvisoryLock } from '../database/advisory-lock';
import { Transactions } from '../database/transactions.service';
import { DesiredStatePublisher } from '../fleet/desired-state.publisher';
import { NodeEntity } from '../nodes/node.entity';
import { SandboxAnnouncer } from './announce/sandbox.announcer';
import { ManagedSandboxChanges } from './model/managed-changes';
import { EventReason, withEvent } from './model/sandbox-events';
import { SandboxEntity } from './model/sandbox.entity';
import { SandboxesRepository } from './model/sandboxes.repository';

/** How often due restarts are looked for: the shortest backoff is a second. */
const RESTART_TICK_MS = 1_000;
/** At most this many restarts per pass of the restart loop; the rest wait for the next one. */
const MAX_RESTARTS_PER_PASS = 500;
/** PostgreSQL advisory lock key: one control-plane replica restarts sandboxes at a time. */
const RESTART_LOCK_KEY = 0x6d6f6172;

/**
 * The loop behind restart policies: every second it restarts the failed sandboxes whose
 * restart is due. Level-triggered like the rest: what is due lives in the database
 * (`restartAt`), so a restarted control plane carries on.
 */
@Injectable()
export class RestartScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RestartScheduler.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    @InjectRepository(SandboxEntity) private readonly sandboxes: Repository<SandboxEntity>,
    private readonly rows: SandboxesRepository,
    private readonly transactions: Transactions,
    private readonly publisher: DesiredStatePublisher,
    private readonly announcer: SandboxAnnouncer,
    private readonly managed: ManagedSandboxChanges,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.tick(), RESTART_TICK_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * Starts again the failed sandboxes whose restart is due, on nodes that are connected: each
   * gets the next `restartCount` and becomes `creating`, and its node hears the new count in
   * its desired set — it holds the sandbox failed, and deletes and creates it again under the
   * same id. Sandboxes on a node that is down or has not reconnected wait for it. Returns how
   * many were restarted.
   */
  private async restartDue(now: Date): Promise<number> {
    // Asked every second, and nearly always nothing is due: no transaction for that.
    if (!(await this.sandboxes.exists({ where: { restartAt: LessThanOrEqual(now), desiredState: 'running', state: 'failed' } }))) return 0;
    const restarted = await this.transactions.run(async (manager) => {
      if (!(await holdsAdvisoryLock(manager, RESTART_LOCK_KEY))) return [];
      const due = await manager.find(SandboxEntity, {
        where: { restartAt: LessThanOrEqual(now), desiredState: 'running', state: 'failed' },
        order: { restartAt: 'ASC' },
        take: MAX_RESTARTS_PER_PASS,
      });
      const nodeIds = [...new Set(due.flatMap((s) => (s.nodeId ? [s.nodeId] : [])))];
      if (nodeIds.length === 0) return [];
      const connected = await manager.find(NodeEntity, { select: { id: true }, where: { id: In(nodeIds), state: Not(In(['down', 'unknown'])) } });
      const up = new Set(connected.map((node) => node.id));
      const ready = due.filter((sandbox) => sandbox.nodeId !== null && up.has(sandbox.nodeId));
      if (ready.length === 0) return [];
      for (const sandbox of ready) {
        const count = sandbox.restartCount + 1;
        const limit = sandbox.restartPolicy.type === 'on-failure' ? ` of ${sandbox.restartPolicy.maxRestarts}` : '';
        const after = sandbox.error ? ` after ${sandbox.error.code}: ${sandbox.error.message.split('\n')[0]}` : '';
        const reason = { code: EventReason.RESTARTED, message: `restart ${count}${limit}${after}`.slice(0, 4096) };
        Object.assign(sandbox, {
          restartCount: count,
          restartAt: null,
          state: 'creating',
          error: null,
          progress: null,
          events: withEvent(sandbox.events, 'creating', now, reason),
          updatedAt: now,
        });
      }
      await this.rows.storeRestarts(manager, ready, now);
      return ready;
    });
    if (restarted.length === 0) return 0;
    this.logger.log({ sandboxes: restarted.map((s) => ({ id: s.id, restartCount: s.restartCount })) }, 'restarting failed sandboxes');
    for (const sandbox of restarted) {
      this.announcer.updated(sandbox);
      if (sandbox.deploymentId) this.managed.changed(sandbox.deploymentId);
    }
    await this.publisher.publish([...new Set(restarted.map((s) => s.nodeId as string))]);
    return restarted.length;
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.restartDue(new Date())
      .then(() => undefined)
      .catch((err: unknown) => this.logger.error({ err }, 'restarting failed sandboxes failed'))
      .finally(() => {
        this.running = undefined;
      });
  }
}
