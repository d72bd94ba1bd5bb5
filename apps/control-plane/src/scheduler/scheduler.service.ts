import { Injectable, Logger } from '@nestjs/common';
import { EntityManager, In, IsNull } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { Transactions } from '../database/transactions.service';
import type { ApiError } from '../common/api.error';
import { MetricsService } from '../metrics/metrics.service';
import { TenantAddresses } from '../networks/tenant-addresses';
import { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import { samePendingReason } from '../sandboxes/model/pending-reason';
import { SandboxesRepository } from '../sandboxes/model/sandboxes.repository';
import { NO_USAGE, quotaFit, withAdded } from '../tenants/model/quota';
import { TenantEntity } from '../tenants/model/tenant.entity';
import { yieldToEventLoop } from '../common/yield';
import type { PendingReason } from '../sandboxes/model/pending-reason';
import { bumpSchedulerEpoch, CapacityIndex, loadCandidates, type NodesChange, type NodeState } from './capacity-index';
import type { OvercommitFallback } from './node-offer';
import { PlacementPolicy, PlacementTable, type PlacementRequest } from './placement';

/** At most this many admissions, and this many older pending sandboxes, per transaction. */
const MAX_BATCH = 1000;

export type Admission =
  | { kind: 'admitted'; sandbox: SandboxEntity }
  | { kind: 'quota-exceeded'; tenantName: string; problem: string }
  | { kind: 'tenant-suspended'; tenantName: string }
  | { kind: 'tenant-not-found'; tenantId: string }
  /** Its tenant's network has no address for it (TENANT_NETWORK_FULL, NETWORK_POOL_EXHAUSTED). */
  | { kind: 'network-unavailable'; error: ApiError };

/** What one scheduler transaction committed. */
export interface SchedulerCommit {
  /** New sandboxes stored (placed or still pending). */
  admitted: SandboxEntity[];
  /** Sandboxes that got a node: new ones and older pending ones. */
  placed: SandboxEntity[];
  /** Older pending sandboxes still unplaced whose `pendingReason` changed. */
  explained: SandboxEntity[];
}

interface Waiting {
  sandbox: SandboxEntity;
  settle: (admission: Admission) => void;
  fail: (err: unknown) => void;
}

/**
 * Admits and places sandboxes in batches. Requests arriving while a batch commits wait for
 * the next one, so under load one transaction checks many quotas and places many sandboxes,
 * written with multi-row inserts. Capacity and usage come from an in-memory index
 * (CapacityIndex) that is current for the database's scheduler epoch; every batch bumps the
 * epoch inside its transaction, which serialises replicas' batches on PostgreSQL and makes a
 * replica rebuild its index whenever anyone else changed anything. So a quota check and the
 * insert it allows commit together, and no node is overbooked, whatever the replica count.
 */
@Injectable()
export class SchedulerService {
  private readonly logger = new Logger(SchedulerService.name);
  private readonly policy: PlacementPolicy;
  private waiting: Waiting[] = [];
  private placeWaiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private placeRequested = false;
  private running = false;
  private readonly listeners: ((commit: SchedulerCommit) => Promise<void>)[] = [];
  private readonly index: CapacityIndex;

  constructor(
    private readonly transactions: Transactions,
    private readonly rows: SandboxesRepository,
    private readonly addresses: TenantAddresses,
    private readonly metrics: MetricsService,
    config: AppConfig,
  ) {
    this.policy = {
      strategy: config.fleet.schedulerStrategy,
      cpuOvercommit: config.fleet.cpuOvercommit,
      memoryOvercommit: config.fleet.memoryOvercommit,
    };
    this.index = new CapacityIndex(this.policy);
  }

  /** The factors for nodes that report none of their own (MOAT_CPU_OVERCOMMIT, MOAT_MEMORY_OVERCOMMIT). */
  get overcommitFallback(): OvercommitFallback {
    return { cpuOvercommit: this.policy.cpuOvercommit, memoryOvercommit: this.policy.memoryOvercommit };
  }

  /**
   * Says that nodes or capacity changed outside a scheduler batch (a node came or went, was
   * cordoned or relabelled, a sandbox was deleted), so every replica's index is rebuilt.
   */
  async invalidate(): Promise<void> {
    this.index.reset();
    await this.transactions.run(bumpSchedulerEpoch);
  }

  /**
   * In the transaction that stored nodes' new state (hellos): see `CapacityIndex.prepareNodes`.
   * Pass the result to `applyNodes` once it committed.
   */
  prepareNodes(manager: EntityManager, nodes: readonly NodeState[]): Promise<NodesChange> {
    return this.index.prepareNodes(manager, nodes);
  }

  /** The index takes committed node changes in place when it can (a fleet's hellos need no rebuild). */
  applyNodes(change: NodesChange): void {
    this.index.applyNodes(change);
  }

  /** Called after every commit (to tell nodes and dashboards), before the callers resume. */
  onCommit(listener: (commit: SchedulerCommit) => Promise<void>): void {
    this.listeners.push(listener);
  }

  /**
   * Stores a new sandbox if its tenant is active and its quota allows it, and places it if a
   * node has room (else it stays `pending`). `sandbox.nodeSelector` and
   * `sandbox.antiAffinityKey` constrain the placement.
   */
  admit(sandbox: SandboxEntity): Promise<Admission> {
    return new Promise((settle, fail) => {
      this.waiting.push({ sandbox, settle, fail });
      this.kick();
    });
  }

  /**
   * A node other than `excluded` for a sandbox that has to leave its own (a hibernated one woken
   * where its node takes it no more), chosen as a new sandbox's would be — ready nodes, its
   * selector, its anti-affinity key, room, the strategy — or why none fits. Read afresh in the
   * caller's transaction, which holds the scheduler's lock (bumpSchedulerEpoch) and books the
   * sandbox on the node it stores; that bump has every replica's index rebuilt.
   */
  async placeElsewhere(manager: EntityManager, request: PlacementRequest, excluded: string): Promise<{ nodeId: string } | { reason: PendingReason }> {
    const keys = request.antiAffinityKey ? [request.antiAffinityKey] : [];
    const table = new PlacementTable((await loadCandidates(manager, keys)).filter((node) => node.id !== excluded), this.policy);
    const node = table.place(request);
    return node ? { nodeId: node.id } : { reason: table.explain(request) };
  }

  /** Places what it can of the pending sandboxes; resolves after the placing commit. */
  placePending(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.placeWaiters.push({ resolve, reject });
      this.placeRequested = true;
      this.kick();
    });
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.drain().finally(() => {
      this.running = false;
      if (this.waiting.length > 0 || this.placeRequested) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0 || this.placeRequested) {
      // Requests already read from their sockets (or arriving while the last batch committed)
      // join this batch instead of each paying for a transaction of its own.
      await yieldToEventLoop();
      const batch = this.waiting.splice(0, MAX_BATCH);
      const placeWaiters = this.placeWaiters.splice(0);
      // Older pending sandboxes are looked at again only when asked (room may have appeared):
      // new ones in the batch do not change whether they fit.
      const retryPending = this.placeRequested;
      this.placeRequested = false;
      try {
        // Nodes come and go all the time in a large fleet; most of the time nothing waits.
        if (batch.length === 0 && !(await this.anyPending())) {
          placeWaiters.forEach((w) => w.resolve());
          continue;
        }
        const stop = this.metrics.schedulerBatchSeconds.startTimer();
        const { admissions, commit, morePending } = await this.transactions.run((manager) =>
          this.runBatch(manager, batch, retryPending),
        );
        stop();
        if (morePending) this.placeRequested = true;
        this.observe(commit.placed);
        await this.notify(commit);
        batch.forEach((w, i) => w.settle(admissions[i]));
        placeWaiters.forEach((w) => w.resolve());
      } catch (err) {
        // Its bookings never committed: the index must be rebuilt from the database.
        this.index.reset();
        this.logger.error({ err, admissions: batch.length }, 'scheduler batch failed');
        batch.forEach((w) => w.fail(err));
        placeWaiters.forEach((w) => w.reject(err));
      }
    }
  }

  private async runBatch(
    manager: EntityManager,
    batch: Waiting[],
    retryPending: boolean,
  ): Promise<{ admissions: Admission[]; commit: SchedulerCommit; morePending: boolean }> {
    await this.index.acquire(manager);
    const admissions = await this.checkQuotas(manager, batch.map((w) => w.sandbox));
    await this.assignAddresses(manager, admissions);
    const admitted = admissions.flatMap((a) => (a.kind === 'admitted' ? [a.sandbox] : []));
    const table = this.index.table();
    // Read even with no node ready: their reason may have become that.
    const pending = retryPending
      ? await manager.find(SandboxEntity, {
          where: { nodeId: IsNull(), desiredState: 'running', state: 'pending' },
          order: { createdAt: 'ASC' },
          take: MAX_BATCH,
        })
      : [];
    const placed: SandboxEntity[] = [];
    const now = new Date();
    if (table.size > 0) {
      const keys = [...new Set([...pending, ...admitted].flatMap((s) => (s.antiAffinityKey ? [s.antiAffinityKey] : [])))];
      await this.index.ensureKeys(manager, keys);
    }
    // Older pending sandboxes first: they have waited longest.
    const moved = pending.filter((sandbox) => this.placeOne(sandbox, table, now));
    await this.rows.assignNodes(manager, moved, now);
    placed.push(...moved);
    for (const sandbox of admitted) if (this.placeOne(sandbox, table, now)) placed.push(sandbox);
    // A retry of up to MAX_BATCH rows rewrites only the reasons that changed.
    const explained = pending.filter((sandbox) => !sandbox.nodeId && this.explainOne(sandbox, table, now));
    for (const sandbox of admitted) if (!sandbox.nodeId) this.explainOne(sandbox, table, now);
    await this.rows.storePendingReasons(manager, explained, now);
    await this.rows.insert(manager, admitted);
    const morePending = pending.length === MAX_BATCH && placed.length > 0;
    return { admissions, commit: { admitted, placed, explained }, morePending };
  }

  /** Gives the admitted their addresses, all in one go; those that get none are refused after all. */
  private async assignAddresses(manager: EntityManager, admissions: Admission[]): Promise<void> {
    const refusals = await this.addresses.assign(manager, admissions.flatMap((a) => (a.kind === 'admitted' ? [a.sandbox] : [])));
    if (refusals.length === 0) return;
    const refused = new Map(refusals.map(({ sandbox, error }) => [sandbox, error]));
    // The quota check counted them in the index's usage: they are taken out again (rebuilding
    // the index instead would let one tenant's full network slow every batch).
    const usage = await this.index.usageOf(manager, []);
    admissions.forEach((admission, i) => {
      if (admission.kind !== 'admitted') return;
      const error = refused.get(admission.sandbox);
      if (!error) return;
      admissions[i] = { kind: 'network-unavailable', error };
      const { tenantId } = admission.sandbox;
      usage.set(tenantId, withAdded(usage.get(tenantId) ?? NO_USAGE, admission.sandbox, -1));
    });
  }

  private anyPending(): Promise<boolean> {
    return this.transactions.run(async (manager) =>
      manager.exists(SandboxEntity, { where: { nodeId: IsNull(), desiredState: 'running', state: 'pending' } }),
    );
  }

  private async checkQuotas(manager: EntityManager, sandboxes: SandboxEntity[]): Promise<Admission[]> {
    if (sandboxes.length === 0) return [];
    const tenantIds = [...new Set(sandboxes.map((s) => s.tenantId))];
    const tenants = await manager.findBy(TenantEntity, { id: In(tenantIds) });
    const byId = new Map(tenants.map((t) => [t.id, t]));
    const usage = await this.index.usageOf(manager, tenantIds);
    return sandboxes.map((sandbox): Admission => {
      const tenant = byId.get(sandbox.tenantId);
      if (!tenant) return { kind: 'tenant-not-found', tenantId: sandbox.tenantId };
      if (tenant.state === 'suspended') return { kind: 'tenant-suspended', tenantName: tenant.name };
      const used = usage.get(tenant.id) ?? NO_USAGE;
      const { problem } = quotaFit(tenant.quota, used, sandbox, 1);
      if (problem) return { kind: 'quota-exceeded', tenantName: tenant.name, problem };
      usage.set(tenant.id, withAdded(used, sandbox, 1));
      return { kind: 'admitted', sandbox };
    });
  }

  private placeOne(sandbox: SandboxEntity, table: PlacementTable, now: Date): boolean {
    const node = table.size > 0 ? table.place(sandbox) : undefined;
    if (!node) return false;
    sandbox.nodeId = node.id;
    sandbox.placedAt = now;
    sandbox.pendingReason = null;
    sandbox.updatedAt = now;
    return true;
  }

  /**
   * Sets why an unplaced sandbox waits, as the nodes look after the whole batch was placed;
   * whether that changed its reason.
   */
  private explainOne(sandbox: SandboxEntity, table: PlacementTable, now: Date): boolean {
    const reason = table.explain(sandbox);
    if (samePendingReason(sandbox.pendingReason, reason)) return false;
    sandbox.pendingReason = reason;
    sandbox.updatedAt = now;
    return true;
  }

  private observe(placed: SandboxEntity[]): void {
    for (const sandbox of placed) {
      if (sandbox.placedAt) {
        this.metrics.schedulingLatency.observe((sandbox.placedAt.getTime() - sandbox.createdAt.getTime()) / 1000);
      }
    }
    this.metrics.placements.inc(placed.length);
  }

  private async notify(commit: SchedulerCommit): Promise<void> {
    if (commit.admitted.length === 0 && commit.placed.length === 0 && commit.explained.length === 0) return;
    for (const listener of this.listeners) {
      try {
        await listener(commit);
      } catch (err) {
        this.logger.error({ err }, 'announcing scheduler results failed');
      }
    }
  }
}
