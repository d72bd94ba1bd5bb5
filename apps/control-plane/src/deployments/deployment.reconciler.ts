import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { AppConfig } from '../config/app-config';
import { UiChannel } from '../dashboard/ui.channel';
import { holdsAdvisoryLock } from '../database/advisory-lock';
import { Transactions } from '../database/transactions.service';
import { DesiredStatePublisher } from '../fleet/desired-state.publisher';
import { RolloutDto } from '../rollouts/dto/rollout.dto';
import { SandboxAnnouncer } from '../sandboxes/announce/sandbox.announcer';
import { ManagedSandboxChanges } from '../sandboxes/model/managed-changes';
import { SchedulerService } from '../scheduler/scheduler.service';
import { HealthProber } from './health.prober';
import { PassPlanner, type PassResult } from './pass.planner';

/** Shortest pause between passes that were asked for while one ran. */
const MIN_PASS_GAP_MS = 20;
/** PostgreSQL advisory lock key: one control-plane replica reconciles at a time. */
const RECONCILER_LOCK_KEY = 0x6d6f6174;

/**
 * The level-triggered control loop behind deployments and rollouts: runs passes (PassPlanner)
 * when asked and at an interval, each in one transaction with multi-row statements, so the
 * cost of a pass grows with the number of changes, not with round trips per sandbox; then
 * tells nodes, the scheduler, the prober and dashboards what it changed. Nothing lives only
 * in memory: after a restart the next pass carries on where the database says.
 */
@Injectable()
export class DeploymentReconciler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DeploymentReconciler.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  /** Prompted passes wait until then (performance.now() time). */
  private restUntil = 0;
  private stopped = false;
  private subscriptions: Subscription[] = [];
  /** What dashboards last saw of each deployment, to push only changes. */
  private readonly shown = new Map<string, string>();

  constructor(
    private readonly transactions: Transactions,
    private readonly planner: PassPlanner,
    private readonly publisher: DesiredStatePublisher,
    private readonly announcer: SandboxAnnouncer,
    private readonly managed: ManagedSandboxChanges,
    private readonly scheduler: SchedulerService,
    private readonly prober: HealthProber,
    private readonly ui: UiChannel,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.subscriptions = [
      this.managed.changes.subscribe(() => this.kick()),
      this.prober.verdictArrived.subscribe(() => this.kick()),
    ];
    this.kick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.subscriptions.forEach((s) => s.unsubscribe());
    await this.running;
  }

  /** Runs a pass soon: now if idle, right after the current one otherwise. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const wait = this.restUntil - performance.now();
    if (wait > 0) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.kick(), wait);
      this.timer.unref();
      return;
    }
    clearTimeout(this.timer);
    const started = performance.now();
    this.running = this.pass()
      .catch((err: unknown) => this.logger.error({ err }, 'deployment reconcile pass failed'))
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        // Prompted passes leave at least as long as the last one took for everything else
        // (status reports, API requests): a status storm must not become a pass storm.
        const elapsed = performance.now() - started;
        this.restUntil = performance.now() + Math.max(MIN_PASS_GAP_MS, elapsed);
        const delay = this.again ? this.restUntil - performance.now() : this.config.reconcileIntervalMs;
        this.again = false;
        this.timer = setTimeout(() => this.kick(), delay);
        this.timer.unref();
      });
  }

  private async pass(): Promise<void> {
    const now = new Date();
    const verdicts = this.prober.takeVerdicts();
    const result = await this.transactions.run(async (manager) =>
      (await holdsAdvisoryLock(manager, RECONCILER_LOCK_KEY)) ? this.planner.plan(manager, verdicts, now) : undefined,
    );
    if (!result) return;
    await this.publish(result);
    if (result.again) this.again = true;
  }

  /** After the commit: tell nodes, place new replicas, start probes, update dashboards. */
  private async publish(result: PassResult): Promise<void> {
    result.removedUnplaced.forEach((sandbox) => this.announcer.deleted(sandbox));
    // Replicas stopped outside a scheduler batch free room and quota (creates bump its epoch).
    if (result.removedPlaced.length > 0 || result.removedUnplaced.length > 0) await this.scheduler.invalidate();
    await this.publisher.nodesChanged([...result.removedPlaced.map((r) => r.nodeId), ...result.pinnedNodes]);
    await this.announcer.updatedMany([...result.removedPlaced.map((r) => r.id), ...result.healthChanged]);
    // New replicas wait to be placed; stopped ones freed room other pending sandboxes may fit in.
    if (result.created > 0 || result.removedPlaced.length > 0) await this.scheduler.placePending();
    this.prober.schedule(result.probes);
    result.rollouts.forEach(({ rollout, tenantId }) => this.ui.toTenant(tenantId, 'rollout:updated', RolloutDto.from(rollout)));
    for (const dto of result.deployments) {
      const json = JSON.stringify(dto);
      if (this.shown.get(dto.id) === json) continue;
      this.shown.set(dto.id, json);
      this.ui.toTenant(dto.tenantId, 'deployment:updated', dto);
    }
    for (const { id, tenantId } of result.deleted) {
      this.shown.delete(id);
      this.ui.toTenant(tenantId, 'deployment:deleted', { id: id });
    }
  }
}

