import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { EntityManager, In } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { UiChannel } from '../dashboard/ui.channel';
import { holdsAdvisoryLock } from '../database/advisory-lock';
import { Transactions } from '../database/transactions.service';
import { DesiredStatePublisher } from '../fleet/desired-state.publisher';
import { NodeEntity, wouldBeReady } from '../nodes/node.entity';
import { RolloutDto } from '../rollouts/dto/rollout.dto';
import { isActive, RolloutEntity } from '../rollouts/rollout.entity';
import { planRollout } from '../rollouts/rollout.planner';
import { NEVER_RESTART } from '../sandboxes/model/restart-policy';
import { newSandbox, SandboxEntity, type SandboxHealth } from '../sandboxes/model/sandbox.entity';
import { SandboxAnnouncer } from '../sandboxes/announce/sandbox.announcer';
import { ManagedSandboxChanges } from '../sandboxes/model/managed-changes';
import { SandboxesRepository } from '../sandboxes/model/sandboxes.repository';
import { bumpSchedulerEpoch } from '../scheduler/capacity-index';
import { matchesSelector } from '../scheduler/placement';
import { SchedulerService } from '../scheduler/scheduler.service';
import { TemplateVersionEntity } from '../templates/model/template.entity';
import { resolveHealthCheck, type ResolvedHealthCheck, type TemplateSpec } from '../templates/model/template-spec';
import { quotaViolation } from '../tenants/model/quota';
import { TenantEntity } from '../tenants/model/tenant.entity';
import { loadUsage, NO_USAGE } from '../tenants/usage';
import { DeploymentEntity } from './model/deployment.entity';
import { DeploymentDto } from './dto/deployment.dto';
import { HealthProber, type ProbeTarget, type ProbeVerdict } from './health.prober';
import { rollBack } from '../rollouts/rollout.transitions';
import { planSteadyState, type Replica, type ReplicaActions } from '../rollouts/replica';
import { countReplicas } from './replica-counts';

/**
 * New replicas started per pass. A pass runs as one transaction, which on SQLite holds the
 * event loop until it commits; bounding it keeps sockets (heartbeats, pings) served while a
 * large deployment is created. Rolling rollouts stay within it through maxUnavailable.
 */
const MAX_CREATES_PER_PASS = 1_000;
/** Shortest pause between passes that were asked for while one ran. */
const MIN_PASS_GAP_MS = 20;
/** PostgreSQL advisory lock key: one control-plane replica reconciles at a time. */
const RECONCILER_LOCK_KEY = 0x6d6f6174;

type ReplicaRow = Pick<
  SandboxEntity,
  'id' | 'tenantId' | 'nodeId' | 'state' | 'deploymentId' | 'templateId' | 'templateVersion' | 'health' | 'healthySince' | 'createdAt'
> & {
  /** Failed, with a restart due: its restart policy starts it again (see RestartScheduler). */
  restarting: boolean;
};

/** What one pass changed, for what has to happen after its transaction commits. */
interface PassResult {
  removedPlaced: { id: string; nodeId: string }[];
  removedUnplaced: { id: string; tenantId: string }[];
  pinnedNodes: string[];
  created: number;
  healthChanged: string[];
  rollouts: { rollout: RolloutEntity; tenantId: string }[];
  deployments: DeploymentDto[];
  deleted: { id: string; tenantId: string }[];
  probes: ProbeTarget[];
  again: boolean;
}

/**
 * The level-triggered control loop behind deployments and rollouts. Each pass reads every
 * deployment, its active rollout and its sandboxes, decides (with the pure planners) what to
 * start and stop, and writes all of it in one transaction with multi-row statements, so the
 * cost of a pass grows with the number of changes, not with round trips per sandbox. Nothing
 * lives only in memory: after a restart the next pass carries on where the database says.
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
    private readonly rows: SandboxesRepository,
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
    const result = await this.transactions.run((manager) => this.plan(manager, verdicts, now));
    if (!result) return;
    await this.publish(result);
    if (result.again) this.again = true;
  }

  private async plan(manager: EntityManager, verdicts: Map<string, ProbeVerdict>, now: Date): Promise<PassResult | undefined> {
    if (!(await holdsAdvisoryLock(manager, RECONCILER_LOCK_KEY))) return undefined;
    const deployments = await manager.find(DeploymentEntity, { order: { createdAt: 'ASC' } });
    if (deployments.length === 0) return undefined;
    const rolloutIds = deployments.map((d) => d.currentRolloutId).filter((id): id is string => id !== null);
    const rollouts = new Map(
      (rolloutIds.length > 0 ? await manager.findBy(RolloutEntity, { id: In(rolloutIds) }) : []).map((r) => [r.id, r]),
    );
    const specs = await loadSpecs(manager, [...new Set(deployments.map((d) => d.templateId))]);
    const checks = new Map([...specs].map(([key, spec]) => [key, resolveHealthCheck(spec)]));
    const nodes = await manager.find(NodeEntity);
    const rows = await loadReplicaRows(manager);
    const result: PassResult = {
      removedPlaced: [],
      removedUnplaced: [],
      pinnedNodes: [],
      created: 0,
      healthChanged: await applyHealth(manager, this.rows, rows, checks, verdicts, now),
      rollouts: [],
      deployments: [],
      deleted: [],
      probes: probeTargets(rows, checks, nodes),
      again: false,
    };
    const byDeployment = groupBy(rows, (row) => row.deploymentId ?? '');
    const nodeById = new Map(nodes.map((node) => [node.id, node]));
    const removals: ReplicaRow[] = [];
    const creations: { deployment: DeploymentEntity; version: number; count: number; pinTo: string[] | undefined }[] = [];
    const changedDeployments: DeploymentEntity[] = [];
    let createBudget = MAX_CREATES_PER_PASS;

    for (const deployment of deployments) {
      const own = byDeployment.get(deployment.id) ?? [];
      if (deployment.state === 'deleting') {
        removals.push(...own);
        continue;
      }
      // A node not reconnected since this control plane started keeps its replica (and counts),
      // but gets no new one until it says hello.
      const eligible = deployment.perNode
        ? nodes.filter((n) => wouldBeReady(n) && matchesSelector(n.labels, deployment.nodeSelector)).map((n) => n.id)
        : undefined;
      const desired = eligible ? eligible.length : deployment.replicas;
      const eligibleSet = eligible && new Set(eligible);
      const replicas = own.map((row) => toReplica(row, nodeById, eligibleSet));
      const before = JSON.stringify(deployment);
      const actions = this.decide(deployment, rollouts, replicas, desired, now, result);
      if (JSON.stringify(deployment) !== before) changedDeployments.push(deployment);

      const removed = new Set(actions.remove);
      removals.push(...own.filter((row) => removed.has(row.id)));
      for (const { version, count: wanted } of actions.create) {
        const count = Math.min(wanted, createBudget);
        createBudget -= count;
        if (count < wanted) result.again = true;
        const occupied = new Set(own.filter((r) => r.templateVersion === version && !removed.has(r.id)).map((r) => r.nodeId));
        const pinTo = eligible?.filter((nodeId) => !occupied.has(nodeId) && nodeById.get(nodeId)?.state === 'ready').slice(0, count);
        creations.push({ deployment, version, count: pinTo ? pinTo.length : count, pinTo });
      }
      const remaining = own.filter((row) => !removed.has(row.id));
      result.deployments.push(DeploymentDto.from(deployment, countReplicas(remaining, desired)));
    }

    await this.remove(manager, removals, deployments, now, result);
    await this.create(manager, creations, specs, now, result);
    for (const deployment of changedDeployments) await manager.save(DeploymentEntity, deployment);
    for (const { rollout } of result.rollouts) await manager.save(RolloutEntity, rollout);
    await this.finishDeletions(manager, deployments, byDeployment, result);
    return result;
  }

  /** The actions for one deployment: its active rollout's, or the steady state's. */
  private decide(
    deployment: DeploymentEntity,
    rollouts: Map<string, RolloutEntity>,
    replicas: Replica[],
    desired: number,
    now: Date,
    result: PassResult,
  ): ReplicaActions {
    const rollout = deployment.currentRolloutId ? rollouts.get(deployment.currentRolloutId) : undefined;
    if (!rollout || !isActive(rollout.state)) {
      // A failed rollout without autoRollback holds the deployment as it is until the next rollout.
      if (rollout?.state === 'failed') return { create: [], remove: [] };
      return planSteadyState(replicas, deployment.templateVersion, desired, now);
    }
    const before = JSON.stringify(rollout);
    const plan = planRollout(rollout, replicas, desired, now);
    const { state, steps, progress, lastProgressAt } = plan.rollout;
    Object.assign(rollout, { state, steps, progress, lastProgressAt, reason: plan.rollout.reason ?? rollout.reason });
    if (plan.outcome === 'completed') {
      Object.assign(rollout, { finishedAt: now });
      Object.assign(deployment, { templateVersion: rollout.toVersion, state: 'active', currentRolloutId: null, updatedAt: now });
    } else if (plan.outcome === 'failed') {
      rollout.finishedAt = now;
      deployment.state = 'active';
      deployment.updatedAt = now;
      if (rollout.strategy.autoRollback) {
        rollBack(rollout, `${rollout.reason ?? 'failed'}; rolled back to version ${rollout.fromVersion}`, now);
        deployment.currentRolloutId = null;
        result.again = true;
      }
    }
    if (JSON.stringify(rollout) !== before) result.rollouts.push({ rollout, tenantId: deployment.tenantId });
    return plan;
  }

  private async remove(
    manager: EntityManager,
    removals: ReplicaRow[],
    deployments: readonly DeploymentEntity[],
    now: Date,
    result: PassResult,
  ): Promise<void> {
    const placed = removals.filter((r) => r.nodeId !== null);
    const unplaced = removals.filter((r) => r.nodeId === null);
    const deleting = new Set(deployments.filter((d) => d.state === 'deleting').map((d) => d.id));
    await this.rows.stop(
      manager,
      placed.map((row) => ({
        id: row.id,
        message: deleting.has(row.deploymentId ?? '')
          ? `its deployment ${row.deploymentId} is being deleted`
          : `stopped by its deployment ${row.deploymentId}${row.state === 'failed' ? ', which replaces it' : ''}`,
      })),
      now,
    );
    await this.rows.remove(manager, unplaced.map((r) => r.id));
    result.removedPlaced = placed.map((r) => ({ id: r.id, nodeId: r.nodeId ?? '' }));
    result.removedUnplaced = unplaced.map((r) => ({ id: r.id, tenantId: r.tenantId }));
  }

  /** Inserts new replicas, as many as each tenant's quota allows. */
  private async create(
    manager: EntityManager,
    creations: { deployment: DeploymentEntity; version: number; count: number; pinTo: string[] | undefined }[],
    specs: Map<string, TemplateSpec>,
    now: Date,
    result: PassResult,
  ): Promise<void> {
    const rows: SandboxEntity[] = [];
    const creating = creations.filter((c) => c.count > 0);
    // The scheduler's lock: admissions and these inserts check quotas one at a time, and the
    // bumped epoch makes the scheduler reload its capacity index before its next batch.
    if (creating.length > 0) await bumpSchedulerEpoch(manager);
    for (const [tenantId, wanted] of groupBy(creating, (c) => c.deployment.tenantId)) {
      const tenant = await manager.findOneBy(TenantEntity, { id: tenantId });
      // A suspended tenant keeps what runs but gets nothing new.
      if (!tenant || tenant.state === 'suspended') continue;
      const usage = { ...((await loadUsage(manager, [tenantId])).get(tenantId) ?? NO_USAGE) };
      for (const { deployment, version, count, pinTo } of wanted) {
        const spec = specs.get(specKey(deployment.templateId, version));
        if (!spec) continue;
        let fits = 0;
        while (
          fits < count &&
          !quotaViolation(tenant.quota, usage, { sandboxes: fits + 1, vcpus: spec.vcpus * (fits + 1), memoryMiB: spec.memoryMiB * (fits + 1) })
        ) {
          fits += 1;
        }
        if (fits < count) this.logger.warn({ deploymentId: deployment.id, wanted: count, fits }, 'tenant quota limits replicas');
        usage.sandboxes += fits;
        usage.vcpus += spec.vcpus * fits;
        usage.memoryMiB += spec.memoryMiB * fits;
        for (let i = 0; i < fits; i += 1) rows.push(newReplica(deployment, version, spec, pinTo?.[i] ?? null, now));
      }
    }
    await this.rows.insert(manager, rows);
    result.created = rows.length;
    result.pinnedNodes = rows.map((r) => r.nodeId).filter((id): id is string => id !== null);
  }

  /** Drops deployments being deleted once none of their sandboxes is left, stopping ones included. */
  private async finishDeletions(
    manager: EntityManager,
    deployments: DeploymentEntity[],
    byDeployment: Map<string, ReplicaRow[]>,
    result: PassResult,
  ): Promise<void> {
    for (const deployment of deployments.filter((d) => d.state === 'deleting')) {
      if ((byDeployment.get(deployment.id) ?? []).length > 0) {
        result.again = true;
        continue;
      }
      if (await manager.existsBy(SandboxEntity, { deploymentId: deployment.id })) continue;
      await manager.delete(RolloutEntity, { deploymentId: deployment.id });
      await manager.delete(DeploymentEntity, { id: deployment.id });
      result.deleted.push({ id: deployment.id, tenantId: deployment.tenantId });
    }
  }

  /** After the commit: tell nodes, place new replicas, start probes, update dashboards. */
  private async publish(result: PassResult): Promise<void> {
    result.removedUnplaced.forEach((sandbox) => this.announcer.deleted(sandbox));
    // Replicas stopped outside a scheduler batch free room and quota (creates bump its epoch).
    if (result.removedPlaced.length > 0 || result.removedUnplaced.length > 0) await this.scheduler.invalidate();
    await this.publisher.nodesChanged([...result.removedPlaced.map((r) => r.nodeId), ...result.pinnedNodes]);
    await this.announcer.updatedMany([...result.removedPlaced.map((r) => r.id), ...result.healthChanged]);
    if (result.created > 0) await this.scheduler.placePending();
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

export function specKey(templateId: string, version: number): string {
  return `${templateId}@${version}`;
}

async function loadSpecs(manager: EntityManager, templateIds: string[]): Promise<Map<string, TemplateSpec>> {
  const versions = templateIds.length > 0 ? await manager.findBy(TemplateVersionEntity, { templateId: In(templateIds) }) : [];
  return new Map(versions.map((v) => [specKey(v.templateId, v.version), v.spec]));
}

/** The resolved health check of a row's template version (undefined: it has none). */
function checkOf(row: ReplicaRow, checks: Map<string, ResolvedHealthCheck | undefined>): ResolvedHealthCheck | undefined {
  return row.templateId && row.templateVersion !== null ? checks.get(specKey(row.templateId, row.templateVersion)) : undefined;
}

/**
 * The deployment-managed sandboxes meant to run, read as raw rows: hydrating ten thousand
 * entities on every pass cost more than the rest of the pass together.
 */
async function loadReplicaRows(manager: EntityManager): Promise<ReplicaRow[]> {
  const raw = await manager
    .createQueryBuilder(SandboxEntity, 's')
    .select('s.id', 'id')
    .addSelect('s.tenantId', 'tenantId')
    .addSelect('s.nodeId', 'nodeId')
    .addSelect('s.state', 'state')
    .addSelect('s.deploymentId', 'deploymentId')
    .addSelect('s.templateId', 'templateId')
    .addSelect('s.templateVersion', 'templateVersion')
    .addSelect('s.health', 'health')
    .addSelect('s.healthySince', 'healthySince')
    .addSelect('s.createdAt', 'createdAt')
    .addSelect('s.restartAt', 'restartAt')
    .where('s.deploymentId IS NOT NULL')
    .andWhere('s.desiredState = :running', { running: 'running' })
    .getRawMany<Omit<ReplicaRow, 'healthySince' | 'createdAt' | 'templateVersion' | 'restarting'> & {
      templateVersion: number | string | null;
      healthySince: Date | string | null;
      createdAt: Date | string;
      restartAt: Date | string | null;
    }>();
  return raw.map(({ restartAt, ...row }) => ({
    ...row,
    restarting: row.state === 'failed' && restartAt !== null,
    templateVersion: row.templateVersion === null ? null : Number(row.templateVersion),
    healthySince: row.healthySince === null ? null : toDate(row.healthySince),
    createdAt: toDate(row.createdAt),
  }));
}

/** A timestamp from a raw row: a Date from PostgreSQL, a UTC "YYYY-MM-DD HH:MM:SS.SSS" text from SQLite. */
function toDate(value: Date | string): Date {
  if (value instanceof Date) return value;
  return new Date(value.includes('T') ? value : `${value.replace(' ', 'T')}Z`);
}

/**
 * Stores health as last concluded: running with no health check is healthy; otherwise the
 * probes' verdicts; not running (yet, or any more) is unknown. Returns the ids that changed.
 */
async function applyHealth(
  manager: EntityManager,
  store: SandboxesRepository,
  rows: ReplicaRow[],
  checks: Map<string, ResolvedHealthCheck | undefined>,
  verdicts: Map<string, ProbeVerdict>,
  now: Date,
): Promise<string[]> {
  const changed = new Map<SandboxHealth, ReplicaRow[]>();
  for (const row of rows) {
    const check = checkOf(row, checks);
    let next: SandboxHealth;
    if (row.state !== 'running') next = row.health === 'healthy' ? 'unknown' : row.health;
    else if (!check) next = 'healthy';
    else next = verdicts.get(row.id) ?? row.health;
    if (next === row.health) continue;
    row.health = next;
    row.healthySince = next === 'healthy' ? now : null;
    const group = changed.get(next);
    if (group) group.push(row);
    else changed.set(next, [row]);
  }
  const ids = new Map([...changed].map(([health, group]) => [health, group.map((r) => r.id)]));
  await store.storeHealth(manager, ids, now);
  return [...ids.values()].flat();
}

function probeTargets(rows: ReplicaRow[], checks: Map<string, ResolvedHealthCheck | undefined>, nodes: readonly NodeEntity[]): ProbeTarget[] {
  // A node that is not connected cannot relay the check: its failing would say nothing about the replica.
  const connected = new Set(nodes.filter((n) => n.state !== 'down' && n.state !== 'unknown').map((n) => n.id));
  const targets: ProbeTarget[] = [];
  for (const row of rows) {
    const check = checkOf(row, checks);
    if (check && row.state === 'running' && row.nodeId && connected.has(row.nodeId)) targets.push({ sandboxId: row.id, nodeId: row.nodeId, check });
  }
  return targets;
}


function toReplica(row: ReplicaRow, nodes: Map<string, NodeEntity>, eligible: Set<string> | undefined): Replica {
  const node = row.nodeId ? nodes.get(row.nodeId) : undefined;
  // Cordoned nodes keep what they run, and so do nodes not reconnected since this control plane
  // started (unless they were draining); draining, down or vanished nodes give it up.
  const nodeKeeps =
    node !== undefined && (node.state === 'ready' || node.state === 'cordoned' || (node.state === 'unknown' && node.unschedulable !== 'draining'));
  const displaced = row.nodeId !== null && (!nodeKeeps || (eligible !== undefined && !eligible.has(row.nodeId)));
  return {
    id: row.id,
    nodeId: row.nodeId,
    version: row.templateVersion ?? 0,
    state: row.state,
    health: row.health,
    healthySince: row.healthySince,
    createdAt: row.createdAt,
    displaced,
    restarting: row.restarting,
  };
}

function newReplica(deployment: DeploymentEntity, version: number, spec: TemplateSpec, nodeId: string | null, now: Date): SandboxEntity {
  return newSandbox(
    {
      tenantId: deployment.tenantId,
      nodeId,
      placedAt: nodeId ? now : null,
      vcpus: spec.vcpus,
      memoryMiB: spec.memoryMiB,
      image: spec.image ?? null,
      command: spec.command ?? null,
      rootfs: spec.rootfs ?? null,
      env: spec.env ?? {},
      labels: spec.labels ?? {},
      nodeSelector: deployment.nodeSelector,
      // Spread over nodes by the scheduler (pinned perNode replicas are placed already).
      antiAffinityKey: deployment.id,
      networkModel: spec.networkModel ?? null,
      network: true,
      ports: [],
      egress: spec.egress ?? null,
      dns: spec.dns ?? null,
      deploymentId: deployment.id,
      templateId: deployment.templateId,
      templateVersion: version,
      restartPolicy: spec.restartPolicy ?? NEVER_RESTART,
    },
    now,
  );
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
