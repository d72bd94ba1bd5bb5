import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { DesiredSandbox, ExecResult, SandboxState, SandboxStats, SandboxStatus } from '@moat/proto';
import { Subject } from 'rxjs';
import { EntityManager, FindOptionsSelect, In, IsNull, LessThanOrEqual, Not, Repository } from 'typeorm';
import type { Principal } from '../auth/principal';
import { ErrorCode, ApiError } from '../common/api.error';
import { chunks, IN_LIST_CHUNK } from '../common/chunks';
import { yieldToEventLoop } from '../common/yield';
import { UiChannel } from '../dashboard/ui.channel';
import { Transactions } from '../database/transactions.service';
import { AgentChannel } from '../fleet/agent.channel';
import { NodeEntity } from '../nodes/node.entity';
import { NodesService } from '../nodes/nodes.service';
import { SchedulerService } from '../scheduler/scheduler.service';
import { TenantsService } from '../tenants/tenants.service';
import { CreateSandboxDto } from './dto/create-sandbox.dto';
import { ExecDto } from './dto/exec.dto';
import { dnsConfigOf, egressPolicyOf } from './dto/sandbox-fences.dto';
import { restartPolicyOf } from './dto/sandbox-lifecycle.dto';
import { SandboxDto } from './dto/sandbox.dto';
import { restartDueAt } from './model/restart-policy';
import { EventReason, withEvent } from './model/sandbox-events';
import { newSandbox, SandboxEntity } from './model/sandbox.entity';
import { SandboxesRepository } from './model/sandboxes.repository';

const DEFAULT_VCPUS = 1;
const DEFAULT_MEMORY_MIB = 256;
/** How long to wait for an exec reply when the request sets no timeout. */
const EXEC_DEFAULT_WAIT_MS = 60_000;
/** Extra wait beyond the command's own timeout: the node may take twice its kill grace (5 s) to give up on a guest. */
const EXEC_REPLY_MARGIN_MS = 15_000;
/** At most this many restarts per pass of the restart loop; the rest wait for the next one. */
const MAX_RESTARTS_PER_PASS = 500;
/** PostgreSQL advisory lock key: one control-plane replica restarts sandboxes at a time. */
const RESTART_LOCK_KEY = 0x6d6f6172;

/** Filters of the sandbox list. */
export interface SandboxFilter {
  state?: SandboxState;
  nodeId?: string;
  tenantId?: string;
  deploymentId?: string;
}

/** Desired sandboxes: what tenants asked for, placed by the scheduler, run by node agents. */
@Injectable()
export class SandboxesService implements OnModuleInit {
  private readonly logger = new Logger(SandboxesService.name);
  /** Emits the deployment id whenever a node reports on a sandbox a deployment manages. */
  readonly managedChanges = new Subject<string>();

  constructor(
    @InjectRepository(SandboxEntity) private readonly sandboxes: Repository<SandboxEntity>,
    private readonly transactions: Transactions,
    private readonly rows: SandboxesRepository,
    private readonly tenants: TenantsService,
    private readonly nodes: NodesService,
    private readonly scheduler: SchedulerService,
    private readonly agents: AgentChannel,
    private readonly ui: UiChannel,
  ) {}

  /** Tells dashboards and nodes what each scheduler commit admitted and placed. */
  onModuleInit(): void {
    this.scheduler.onCommit(async ({ admitted, placed }) => {
      const announced = new Set<string>();
      for (const sandbox of [...admitted, ...placed]) {
        if (announced.has(sandbox.id)) continue;
        announced.add(sandbox.id);
        this.announce(sandbox);
      }
      await this.nodesChanged(placed.flatMap((s) => (s.nodeId ? [s.nodeId] : [])));
    });
  }

  /**
   * Stores a new sandbox if its tenant is active and its quota allows it, and places it
   * (the scheduler admits and places in batches; see SchedulerService). Controllers that
   * manage replicas pass `placement.antiAffinityKey` (e.g. the deployment id) to spread them.
   */
  async create(
    principal: Principal,
    dto: CreateSandboxDto,
    placement: { antiAffinityKey?: string } = {},
  ): Promise<SandboxEntity> {
    const tenantId = await this.tenantIdFor(principal, dto.tenantId);
    const sandbox = this.sandboxes.create(
      newSandbox(
        {
          tenantId,
          nodeId: null,
          placedAt: null,
          vcpus: dto.vcpus ?? DEFAULT_VCPUS,
          memoryMiB: dto.memoryMiB ?? DEFAULT_MEMORY_MIB,
          image: dto.image ?? null,
          command: dto.command ?? null,
          rootfs: dto.rootfs ?? null,
          env: dto.env ?? {},
          labels: dto.labels ?? {},
          nodeSelector: dto.nodeSelector ?? {},
          antiAffinityKey: placement.antiAffinityKey ?? null,
          networkModel: dto.networkModel ?? null,
          network: dto.network ?? true,
          ports: dto.ports?.map((p) => ({ containerPort: p.containerPort, protocol: p.protocol, ...(p.hostPort !== undefined && { hostPort: p.hostPort }) })) ?? [],
          egress: dto.egress ? egressPolicyOf(dto.egress) : null,
          dns: dto.dns ? dnsConfigOf(dto.dns) : null,
          deploymentId: null,
          templateId: null,
          templateVersion: null,
          restartPolicy: restartPolicyOf(dto.restartPolicy),
        },
        new Date(),
      ),
    );
    const admission = await this.scheduler.admit(sandbox);
    switch (admission.kind) {
      case 'admitted':
        return admission.sandbox;
      case 'quota-exceeded':
        throw new ApiError(
          ErrorCode.QUOTA_EXCEEDED,
          `quota of tenant "${admission.tenantName}" exceeded: ${admission.problem}`,
        );
      case 'tenant-suspended':
        throw new ApiError(ErrorCode.TENANT_SUSPENDED, `tenant "${admission.tenantName}" is suspended`);
      case 'tenant-not-found':
        throw new ApiError(ErrorCode.NOT_FOUND, `tenant ${admission.tenantId} not found`);
    }
  }

  /** Sandboxes the principal may see, filtered; `tenantId` is honoured for the admin only. */
  list(principal: Principal, filter: SandboxFilter = {}): Promise<SandboxEntity[]> {
    const tenantId = principal.kind === 'tenant' ? principal.tenantId : filter.tenantId;
    return this.sandboxes.find({
      where: {
        ...(tenantId ? { tenantId } : {}),
        ...(filter.state ? { state: filter.state } : {}),
        ...(filter.nodeId ? { nodeId: filter.nodeId } : {}),
        ...(filter.deploymentId ? { deploymentId: filter.deploymentId } : {}),
      },
      order: { createdAt: 'ASC' },
    });
  }

  async get(principal: Principal, id: string): Promise<SandboxEntity> {
    return this.visible(principal, await this.sandboxes.findOneBy({ id }), id);
  }

  /**
   * Asks for the sandbox to go away. A placed one becomes `stopping` until its node reports
   * it gone; one never placed is removed at once (and reported `stopped`).
   */
  async delete(principal: Principal, id: string): Promise<SandboxEntity> {
    const found = await this.transactions.run(async (manager) => {
      const sandbox = await manager.findOneBy(SandboxEntity, { id });
      if (!this.isVisible(principal, sandbox)) return undefined;
      if (!sandbox.nodeId) {
        await this.rows.remove(manager, [id]);
        return { sandbox: { ...sandbox, state: 'stopped' as const }, removed: true };
      }
      if (sandbox.desiredState !== 'deleted') {
        const now = new Date();
        const events = await this.rows.stop(manager, [{ id, message: 'deleted through the API' }], now);
        Object.assign(sandbox, { desiredState: 'deleted', state: 'stopping', restartAt: null, events: events.get(id), updatedAt: now });
      }
      return { sandbox, removed: false };
    });
    if (!found) throw this.notFound(id);
    const { sandbox, removed } = found;
    // Its room and quota count as free from now on (both cover sandboxes meant to run).
    await this.scheduler.invalidate();
    if (removed) {
      this.ui.toTenant(sandbox.tenantId, 'sandbox:deleted', { id: sandbox.id });
      return sandbox;
    }
    this.announce(sandbox);
    if (sandbox.nodeId) await this.nodesChanged([sandbox.nodeId]);
    await this.placePending();
    return sandbox;
  }

  /** Runs a command in a running sandbox through its node's agent. */
  async exec(principal: Principal, id: string, dto: ExecDto): Promise<ExecResult> {
    const nodeId = await this.runningNode(principal, id);
    const wait = dto.timeoutMs === undefined ? EXEC_DEFAULT_WAIT_MS : dto.timeoutMs + EXEC_REPLY_MARGIN_MS;
    return this.agents.exec(
      nodeId,
      { sandboxId: id, command: dto.command, stdin: dto.stdin, env: dto.env, cwd: dto.cwd, timeoutMs: dto.timeoutMs, tty: dto.tty },
      wait,
    );
  }

  /** The container's live resource use, read by its node from the guest. */
  async stats(principal: Principal, id: string): Promise<SandboxStats> {
    const nodeId = await this.runningNode(principal, id);
    return this.agents.stats(nodeId, id);
  }

  /** Freezes (or thaws) every process of the sandbox's container; the VM itself keeps running. */
  async setPaused(principal: Principal, id: string, paused: boolean): Promise<void> {
    const nodeId = await this.runningNode(principal, id);
    await this.agents.setPaused(nodeId, id, paused);
  }

  /**
   * The node of a running sandbox the principal may use; the attach gateway starts sessions
   * there. Throws NOT_FOUND, SANDBOX_NOT_RUNNING or NODE_UNAVAILABLE like exec does.
   */
  async runningNode(principal: Principal, id: string): Promise<string> {
    const sandbox = await this.get(principal, id);
    if (sandbox.state === 'unknown') {
      throw new ApiError(ErrorCode.NODE_UNAVAILABLE, `the node of sandbox ${id} is not connected`);
    }
    if (sandbox.state !== 'running' || sandbox.desiredState !== 'running') {
      throw new ApiError(ErrorCode.SANDBOX_NOT_RUNNING, `sandbox ${id} is ${sandbox.state}, not running`);
    }
    if (!sandbox.nodeId || !(await this.nodes.isUp(sandbox.nodeId))) {
      throw new ApiError(ErrorCode.NODE_UNAVAILABLE, `the node of sandbox ${id} is not connected`);
    }
    return sandbox.nodeId;
  }

  /**
   * Sends each node its full desired set and refreshes them on dashboards, reading all of
   * them at once (a rollout touches hundreds of nodes in one pass).
   */
  async nodesChanged(nodeIds: readonly string[]): Promise<void> {
    const unique = [...new Set(nodeIds)];
    if (unique.length === 0) return;
    await this.publishDesiredMany(unique);
    await this.nodes.announceMany(unique);
  }

  /** Sandbox rows as the API shows them, to announce changes made in bulk elsewhere. */
  async announceMany(ids: readonly string[]): Promise<void> {
    if (!this.ui.watched) return;
    for (const chunk of chunks(ids, IN_LIST_CHUNK)) {
      (await this.sandboxes.findBy({ id: In(chunk) })).forEach((sandbox) => this.announce(sandbox));
      await yieldToEventLoop();
    }
  }

  /** Places pending sandboxes; the nodes that got some hear about it (see onModuleInit). */
  placePending(): Promise<void> {
    return this.scheduler.placePending();
  }

  /** Sends each node its full desired set, reading all of them in one query. */
  async publishDesiredMany(nodeIds: readonly string[]): Promise<void> {
    if (nodeIds.length === 0) return;
    const nodeId = In([...nodeIds]);
    // A failed sandbox is no longer wanted, unless its restart policy starts it again: then its
    // node keeps it (failed) until the restart is due and restartCount moves on.
    const sandboxes = await this.sandboxes.find({
      select: DESIRED_COLUMNS,
      where: [
        { nodeId, desiredState: 'running', state: Not('failed') },
        { nodeId, desiredState: 'running', state: 'failed', restartAt: Not(IsNull()) },
      ],
      order: { createdAt: 'ASC' },
    });
    const byNode = new Map<string, DesiredSandbox[]>(nodeIds.map((id) => [id, []]));
    for (const sandbox of sandboxes) byNode.get(sandbox.nodeId as string)?.push(toDesired(sandbox));
    for (const [nodeId, desired] of byNode) this.agents.pushDesired(nodeId, { sandboxes: desired });
  }

  /**
   * Records what nodes observed about their sandboxes, in the order reported, in one
   * transaction for the batch (a placement of thousands is followed by thousands of
   * `running` reports). A report about a sandbox not placed on the reporting node is ignored
   * with a warning; a repeated `gone` (the row is already removed) without one.
   */
  async applyStatuses(reports: readonly { nodeId: string; status: SandboxStatus }[]): Promise<void> {
    const { outcomes, ignored } = await this.transactions.run(async (manager) => {
      const byId = new Map((await this.rows.findByIds(manager, reports.map((r) => r.status.id))).map((s) => [s.id, s]));
      const at = new Date();
      const outcomes: StatusOutcome[] = [];
      const ignored: { nodeId: string; sandboxId: string }[] = [];
      const changed = new Set<SandboxEntity>();
      const restartChanged = new Set<SandboxEntity>();
      const gone: string[] = [];
      for (const { nodeId, status } of reports) {
        const sandbox = byId.get(status.id);
        // A node says `gone` again whenever it converges on an id it neither has nor is asked for.
        if (!sandbox && status.state === 'gone') continue;
        if (!sandbox || sandbox.nodeId !== nodeId) {
          ignored.push({ nodeId, sandboxId: status.id });
          continue;
        }
        // About the incarnation before a restart (say, its failure, sent again while the restart
        // was on its way): the restart the node has yet to carry out is what counts.
        if (status.restartCount !== undefined && status.restartCount < sandbox.restartCount) continue;
        const outcome = status.state === 'gone' ? this.gone(sandbox, at) : this.observed(sandbox, status, status.state, at);
        if (outcome.removed) {
          gone.push(sandbox.id);
          byId.delete(sandbox.id);
          changed.delete(sandbox);
          restartChanged.delete(sandbox);
        } else if (outcome.changed) {
          changed.add(sandbox);
          if (outcome.restartChanged) restartChanged.add(sandbox);
        }
        outcomes.push(outcome);
      }
      // Every row the batch changed, in a few statements (thousands of reports follow a large placement).
      await this.rows.removeGone(manager, gone);
      await this.rows.storeObserved(manager, [...changed], [...restartChanged], at);
      return { outcomes, ignored };
    });
    for (const { nodeId, sandboxId } of ignored) {
      this.logger.warn({ nodeId, sandboxId }, 'status for a sandbox not placed on this node ignored');
    }
    await this.publishOutcomes(outcomes);
  }

  /**
   * Treats sandboxes being deleted that their node no longer lists (in its latest
   * heartbeat) as gone, in case the agent lost track of one and never reports it.
   */
  async reconcile(presentByNode: ReadonlyMap<string, readonly string[]>): Promise<void> {
    const vanished: SandboxEntity[] = [];
    for (const nodeIds of chunks([...presentByNode.keys()], IN_LIST_CHUNK)) {
      const deleting = await this.sandboxes.find({
        where: { nodeId: In(nodeIds), desiredState: 'deleted' },
      });
      vanished.push(...deleting.filter((s) => !presentByNode.get(s.nodeId as string)?.includes(s.id)));
    }
    if (vanished.length === 0) return;
    await this.transactions.run((manager) => this.rows.removeGone(manager, vanished.map((s) => s.id)));
    vanished.forEach((sandbox) => this.ui.toTenant(sandbox.tenantId, 'sandbox:deleted', { id: sandbox.id }));
    await this.nodes.announceMany([...new Set(vanished.map((s) => s.nodeId as string))]);
  }

  /**
   * Starts again the failed sandboxes whose restart is due (see RestartScheduler), on nodes
   * that are connected: each gets the next `restartCount` and becomes `creating`, and its node
   * hears the new count in its desired set — it holds the sandbox failed, and deletes and
   * creates it again under the same id. Sandboxes on a node that is down or has not
   * reconnected wait for it. Returns how many were restarted.
   */
  async restartDue(now: Date): Promise<number> {
    // Asked every second, and nearly always nothing is due: no transaction for that.
    if (!(await this.sandboxes.exists({ where: { restartAt: LessThanOrEqual(now), desiredState: 'running', state: 'failed' } }))) return 0;
    const restarted = await this.transactions.run(async (manager) => {
      if (!(await this.leadsRestarts(manager))) return [];
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
      this.announce(sandbox);
      if (sandbox.deploymentId) this.managedChanges.next(sandbox.deploymentId);
    }
    await this.publishDesiredMany([...new Set(restarted.map((s) => s.nodeId as string))]);
    return restarted.length;
  }

  /** On PostgreSQL, only the replica holding the advisory lock restarts sandboxes this round. */
  private async leadsRestarts(manager: EntityManager): Promise<boolean> {
    if (manager.connection.driver.options.type !== 'postgres') return true;
    const rows = await manager.query<{ locked: boolean }[]>('SELECT pg_try_advisory_xact_lock($1) AS locked', [RESTART_LOCK_KEY]);
    return rows[0]?.locked === true;
  }

  /** Applies a node's report to the entity (stored with the rest of its batch). */
  private observed(sandbox: SandboxEntity, status: SandboxStatus, state: SandboxState, at: Date): StatusOutcome {
    const previous = sandbox.state;
    Object.assign(sandbox, {
      // While being deleted it stays `stopping` until gone, whatever else is reported.
      state: sandbox.desiredState === 'running' ? state : sandbox.state,
      progress: status.progress ?? null,
      updatedAt: at,
      ...(status.timings.length > 0 && { timings: status.timings }),
      ...(status.guest && { guest: status.guest }),
      ...(status.network && { ip: status.network.ip, ports: status.network.ports }),
      ...(status.transport && { transport: status.transport }),
      ...(status.isolation && { isolation: status.isolation }),
    });
    if (state === 'failed') {
      sandbox.error = status.error ?? { code: 'SANDBOX_FAILED', message: 'the node reported the sandbox failed' };
    } else if (state !== 'stopping' && state !== 'stopped') {
      sandbox.error = null;
    }
    if (sandbox.state === previous) return { sandbox, changed: true, desiredChanged: false };
    const failed = sandbox.state === 'failed';
    sandbox.events = withEvent(sandbox.events, sandbox.state, at, failed ? (sandbox.error ?? undefined) : undefined);
    const restartAt = failed ? restartDueAt(sandbox.restartPolicy, sandbox.restartCount, at) : null;
    const restartChanged = restartAt?.getTime() !== sandbox.restartAt?.getTime();
    sandbox.restartAt = restartAt;
    // A failed sandbox leaves the desired set, so the node must hear about it; one to be
    // restarted stays in it, failed, until the restart is due.
    return { sandbox, changed: true, desiredChanged: failed && restartAt === null, restartChanged };
  }

  private gone(sandbox: SandboxEntity, at: Date): StatusOutcome {
    if (sandbox.desiredState === 'deleted') {
      return { sandbox, changed: false, desiredChanged: false, removed: true };
    }
    if (sandbox.state === 'failed') return { sandbox, changed: false, desiredChanged: false };
    // Not restarted: only a sandbox its node reports failed is (a node that lost one would
    // start it again at once, outside the restart policy's count and backoff).
    const error = { code: 'SANDBOX_LOST', message: 'the node no longer has this sandbox' };
    Object.assign(sandbox, { state: 'failed', error, events: withEvent(sandbox.events, 'failed', at, error), updatedAt: at });
    const restartChanged = sandbox.restartAt !== null;
    sandbox.restartAt = null;
    return { sandbox, changed: true, desiredChanged: true, restartChanged };
  }

  /** Tells dashboards, deployments and nodes what a batch of status reports changed. */
  private async publishOutcomes(outcomes: readonly StatusOutcome[]): Promise<void> {
    const emptied = new Set<string>();
    const changedDesired = new Set<string>();
    for (const { sandbox, desiredChanged, removed } of outcomes) {
      if (sandbox.deploymentId) this.managedChanges.next(sandbox.deploymentId);
      const nodeId = sandbox.nodeId as string;
      if (removed) {
        this.ui.toTenant(sandbox.tenantId, 'sandbox:deleted', { id: sandbox.id });
        emptied.add(nodeId);
        continue;
      }
      this.announce(sandbox);
      if (desiredChanged) changedDesired.add(nodeId);
    }
    await this.publishDesiredMany([...changedDesired]);
    await this.nodes.announceMany([...emptied]);
  }

  /** The tenant to create for; whether it exists (and is active) the scheduler checks when admitting. */
  private async tenantIdFor(principal: Principal, tenantId: string | undefined): Promise<string> {
    if (principal.kind === 'tenant') {
      if (tenantId !== undefined && tenantId !== principal.tenantId) {
        throw new ApiError(ErrorCode.FORBIDDEN, 'tenantId may only name another tenant with the admin token');
      }
      return principal.tenantId;
    }
    return tenantId ?? (await this.tenants.getDefault()).id;
  }

  private isVisible(principal: Principal, sandbox: SandboxEntity | null): sandbox is SandboxEntity {
    // Another tenant's sandbox is reported missing, not forbidden, so ids reveal nothing.
    return sandbox !== null && (principal.kind === 'admin' || sandbox.tenantId === principal.tenantId);
  }

  private visible(principal: Principal, sandbox: SandboxEntity | null, id: string): SandboxEntity {
    if (!this.isVisible(principal, sandbox)) throw this.notFound(id);
    return sandbox;
  }

  private notFound(id: string): ApiError {
    return new ApiError(ErrorCode.NOT_FOUND, `sandbox ${id} not found`);
  }

  private announce(sandbox: SandboxEntity): void {
    if (this.ui.watched) this.ui.toTenant(sandbox.tenantId, 'sandbox:updated', SandboxDto.from(sandbox));
  }
}

/** What applying one status report did to its sandbox. */
interface StatusOutcome {
  sandbox: SandboxEntity;
  /** Its row must be written. */
  changed: boolean;
  /** The sandbox left its node's desired set (it failed), so the node must hear about it. */
  desiredChanged: boolean;
  /** Its `restartAt` changed (stored apart from the other columns). */
  restartChanged?: boolean;
  /** It was being deleted and is gone now: the row was removed. */
  removed?: true;
}

/** The columns a desired set is made of (a full row carries timings, errors and more for nothing). */
const DESIRED_COLUMNS = {
  id: true,
  nodeId: true,
  tenantId: true,
  vcpus: true,
  memoryMiB: true,
  image: true,
  command: true,
  rootfs: true,
  env: true,
  labels: true,
  network: true,
  networkModel: true,
  ports: true,
  egress: true,
  dns: true,
  restartCount: true,
  createdAt: true,
} satisfies FindOptionsSelect<SandboxEntity>;

function toDesired(sandbox: Pick<SandboxEntity, keyof typeof DESIRED_COLUMNS>): DesiredSandbox {
  return {
    id: sandbox.id,
    vcpus: sandbox.vcpus,
    memoryMiB: sandbox.memoryMiB,
    ...(sandbox.image ? { image: sandbox.image } : {}),
    ...(sandbox.command ? { command: sandbox.command } : {}),
    ...(sandbox.rootfs ? { rootfs: sandbox.rootfs } : {}),
    env: sandbox.env,
    labels: sandbox.labels,
    tenantId: sandbox.tenantId,
    network: sandbox.network,
    ...(sandbox.networkModel ? { networkModel: sandbox.networkModel } : {}),
    ports: sandbox.ports,
    ...(sandbox.egress ? { egress: sandbox.egress } : {}),
    ...(sandbox.dns ? { dns: sandbox.dns } : {}),
    restartCount: sandbox.restartCount,
  };
}
