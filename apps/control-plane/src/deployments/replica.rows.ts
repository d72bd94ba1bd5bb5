import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { groupBy } from '../common/group-by';
import { TenantAddresses } from '../networks/tenant-addresses';
import { NEVER_RESTART } from '../sandboxes/model/restart-policy';
import { newSandbox, SandboxEntity, type SandboxHealth } from '../sandboxes/model/sandbox.entity';
import { SandboxesRepository } from '../sandboxes/model/sandboxes.repository';
import { bumpSchedulerEpoch } from '../scheduler/capacity-index';
import type { ResolvedHealthCheck, TemplateSpec } from '../templates/model/template-spec';
import { NO_USAGE, quotaFit, withAdded } from '../tenants/model/quota';
import { TenantEntity } from '../tenants/model/tenant.entity';
import { loadUsage } from '../tenants/usage';
import type { ProbeVerdict } from './health.prober';
import type { DeploymentEntity } from './model/deployment.entity';

/** A deployment-managed sandbox meant to run, as a pass reads it. */
export type ReplicaRow = Pick<
  SandboxEntity,
  'id' | 'tenantId' | 'nodeId' | 'state' | 'deploymentId' | 'templateId' | 'templateVersion' | 'health' | 'healthySince' | 'createdAt'
> & {
  /** Failed, with a restart due: its restart policy starts it again (see RestartScheduler). */
  restarting: boolean;
};

/** New replicas of one deployment and version a pass asks for. */
export interface ReplicaCreation {
  deployment: DeploymentEntity;
  version: number;
  /** Its template version's spec; undefined: the version is gone, nothing is created. */
  spec: TemplateSpec | undefined;
  count: number;
  /** perNode: the nodes the new replicas go to, one each. */
  pinTo: string[] | undefined;
}

/**
 * The deployment controller's reads and writes of replica rows, all in the pass's transaction
 * and stored through the sandboxes repository: reading them, their health, stopping and
 * removing them, and creating new ones within their tenant's quota.
 */
@Injectable()
export class ReplicaRows {
  private readonly logger = new Logger(ReplicaRows.name);

  constructor(
    private readonly sandboxes: SandboxesRepository,
    private readonly addresses: TenantAddresses,
  ) {}

  /**
   * The deployment-managed sandboxes meant to run, read as raw rows: hydrating ten thousand
   * entities on every pass cost more than the rest of the pass together.
   */
  async load(manager: EntityManager): Promise<ReplicaRow[]> {
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

  /**
   * Stores health as last concluded: running with no health check is healthy; otherwise the
   * probes' verdicts; not running (yet, or any more) is unknown. Updates the rows in place and
   * returns the ids that changed.
   */
  async applyHealth(
    manager: EntityManager,
    rows: readonly ReplicaRow[],
    checkOf: (row: ReplicaRow) => ResolvedHealthCheck | undefined,
    verdicts: ReadonlyMap<string, ProbeVerdict>,
    now: Date,
  ): Promise<string[]> {
    const changed = new Map<SandboxHealth, string[]>();
    for (const row of rows) {
      let next: SandboxHealth;
      if (row.state !== 'running') next = row.health === 'healthy' ? 'unknown' : row.health;
      else if (!checkOf(row)) next = 'healthy';
      else next = verdicts.get(row.id) ?? row.health;
      if (next === row.health) continue;
      row.health = next;
      row.healthySince = next === 'healthy' ? now : null;
      const group = changed.get(next);
      if (group) group.push(row.id);
      else changed.set(next, [row.id]);
    }
    await this.sandboxes.storeHealth(manager, changed, now);
    return [...changed.values()].flat();
  }

  /**
   * Stops replicas: placed ones are asked to stop (their node stops them), unplaced ones are
   * removed at once. `deleting` holds the deployments being deleted, for the event's message.
   */
  async remove(
    manager: EntityManager,
    removals: readonly ReplicaRow[],
    deleting: ReadonlySet<string>,
    now: Date,
  ): Promise<{ removedPlaced: { id: string; nodeId: string }[]; removedUnplaced: { id: string; tenantId: string }[] }> {
    const placed = removals.filter((r) => r.nodeId !== null);
    const unplaced = removals.filter((r) => r.nodeId === null);
    await this.sandboxes.stop(
      manager,
      placed.map((row) => ({
        id: row.id,
        message: deleting.has(row.deploymentId ?? '')
          ? `its deployment ${row.deploymentId} is being deleted`
          : `stopped by its deployment ${row.deploymentId}${row.state === 'failed' ? ', which replaces it' : ''}`,
      })),
      now,
    );
    await this.sandboxes.remove(manager, unplaced.map((r) => r.id));
    return {
      removedPlaced: placed.map((r) => ({ id: r.id, nodeId: r.nodeId ?? '' })),
      removedUnplaced: unplaced.map((r) => ({ id: r.id, tenantId: r.tenantId })),
    };
  }

  /** Inserts new replicas, as many as each tenant's quota allows; returns how many, and the nodes pinned ones went to. */
  async create(manager: EntityManager, creations: readonly ReplicaCreation[], now: Date): Promise<{ created: number; pinnedNodes: string[] }> {
    const rows: SandboxEntity[] = [];
    const creating = creations.filter((c) => c.count > 0);
    // The scheduler's lock: admissions and these inserts check quotas one at a time, and the
    // bumped epoch makes the scheduler reload its capacity index before its next batch.
    if (creating.length > 0) await bumpSchedulerEpoch(manager);
    for (const [tenantId, wanted] of groupBy(creating, (c) => c.deployment.tenantId)) {
      const tenant = await manager.findOneBy(TenantEntity, { id: tenantId });
      // A suspended tenant keeps what runs but gets nothing new.
      if (!tenant || tenant.state === 'suspended') continue;
      let usage = (await loadUsage(manager, [tenantId])).get(tenantId) ?? NO_USAGE;
      for (const { deployment, version, spec, count, pinTo } of wanted) {
        if (!spec) continue;
        const { fits } = quotaFit(tenant.quota, usage, spec, count);
        if (fits < count) this.logger.warn({ deploymentId: deployment.id, wanted: count, fits }, 'tenant quota limits replicas');
        usage = withAdded(usage, spec, fits);
        for (let i = 0; i < fits; i += 1) rows.push(newReplica(deployment, version, spec, pinTo?.[i] ?? null, now));
      }
    }
    const stored = await this.withAddresses(manager, rows);
    await this.sandboxes.insert(manager, stored);
    return { created: stored.length, pinnedNodes: stored.map((r) => r.nodeId).filter((id): id is string => id !== null) };
  }

  /**
   * The new replicas that got an address on their tenant's network. Like a quota that is
   * full, a full network means fewer replicas this pass (logged per deployment); later passes
   * try again, so they come once addresses are free.
   */
  private async withAddresses(manager: EntityManager, rows: SandboxEntity[]): Promise<SandboxEntity[]> {
    const refusals = await this.addresses.assign(manager, rows);
    if (refusals.length === 0) return rows;
    for (const [deploymentId, refused] of groupBy(refusals, ({ sandbox }) => sandbox.deploymentId ?? '')) {
      const { code, message } = refused[0].error;
      this.logger.warn({ deploymentId, refused: refused.length, code }, `replicas not created: ${message}`);
    }
    const refused = new Set(refusals.map(({ sandbox }) => sandbox));
    return rows.filter((row) => !refused.has(row));
  }
}

/** A timestamp from a raw row: a Date from PostgreSQL, a UTC "YYYY-MM-DD HH:MM:SS.SSS" text from SQLite. */
function toDate(value: Date | string): Date {
  if (value instanceof Date) return value;
  return new Date(value.includes('T') ? value : `${value.replace(' ', 'T')}Z`);
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
      idleTimeoutSeconds: spec.idleTimeoutSeconds ?? null,
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
