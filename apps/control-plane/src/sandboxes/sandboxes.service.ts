import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { DesiredSandbox, ExecResult, SandboxState, SandboxStats, SandboxStatus } from '@moat/proto';
import { randomUUID } from 'node:crypto';
import { Subject } from 'rxjs';
import { EntityManager, In, Not, Repository } from 'typeorm';
import type { Principal } from '../auth/principal';
import { ErrorCode, ApiError } from '../common/api.error';
import { yieldToEventLoop } from '../common/yield';
import { UiChannel } from '../dashboard/ui.channel';
import { forUpdate } from '../database/row-lock';
import { Transactions } from '../database/transactions.service';
import { AgentChannel } from '../fleet/agent.channel';
import { NodesService } from '../nodes/nodes.service';
import { SchedulerService } from '../scheduler/scheduler.service';
import { quotaViolation } from '../tenants/quota';
import { tenantUsage } from '../tenants/tenant-usage';
import { TenantEntity } from '../tenants/tenant.entity';
import { TenantsService } from '../tenants/tenants.service';
import { CreateSandboxDto } from './dto/create-sandbox.dto';
import { ExecDto } from './dto/exec.dto';
import { SandboxDto } from './dto/sandbox.dto';
import { SandboxEntity } from './sandbox.entity';

const DEFAULT_VCPUS = 1;
const DEFAULT_MEMORY_MIB = 256;
/** How long to wait for an exec reply when the request sets no timeout. */
const EXEC_DEFAULT_WAIT_MS = 60_000;
/** Extra wait beyond the command's own timeout: the node may take twice its kill grace (5 s) to give up on a guest. */
const EXEC_REPLY_MARGIN_MS = 15_000;

/** Desired sandboxes: what tenants asked for, placed by the scheduler, run by node agents. */
@Injectable()
export class SandboxesService {
  private readonly logger = new Logger(SandboxesService.name);
  /** Emits the deployment id whenever a node reports on a sandbox a deployment manages. */
  readonly managedChanges = new Subject<string>();

  constructor(
    @InjectRepository(SandboxEntity) private readonly sandboxes: Repository<SandboxEntity>,
    private readonly transactions: Transactions,
    private readonly tenants: TenantsService,
    private readonly nodes: NodesService,
    private readonly scheduler: SchedulerService,
    private readonly agents: AgentChannel,
    private readonly ui: UiChannel,
  ) {}

  /** Stores a new sandbox if the tenant's quota allows it, then tries to place it. */
  async create(principal: Principal, dto: CreateSandboxDto): Promise<SandboxEntity> {
    const tenant = await this.tenants.forPrincipal(principal, dto.tenantId);
    const now = new Date();
    const sandbox = this.sandboxes.create({
      id: randomUUID(),
      tenantId: tenant.id,
      nodeId: null,
      state: 'pending',
      desiredState: 'running',
      vcpus: dto.vcpus ?? DEFAULT_VCPUS,
      memoryMiB: dto.memoryMiB ?? DEFAULT_MEMORY_MIB,
      image: dto.image ?? null,
      command: dto.command ?? null,
      rootfs: dto.rootfs ?? null,
      progress: null,
      env: dto.env ?? {},
      labels: dto.labels ?? {},
      timings: [],
      error: null,
      guest: null,
      networkModel: dto.networkModel ?? null,
      network: dto.network ?? true,
      ports: dto.ports?.map((p) => ({ containerPort: p.containerPort, protocol: p.protocol, ...(p.hostPort !== undefined && { hostPort: p.hostPort }) })) ?? [],
      ip: null,
      deploymentId: null,
      templateId: null,
      templateVersion: null,
      health: 'unknown',
      healthySince: null,
      createdAt: now,
      updatedAt: now,
    });
    const violation = await this.transactions.run(async (manager) => {
      // The row lock makes concurrent creates for this tenant on other replicas wait.
      const locked = await forUpdate(
        manager,
        manager.createQueryBuilder(TenantEntity, 't').where('t.id = :id', { id: tenant.id }),
      ).getOneOrFail();
      const usage = await tenantUsage(manager, tenant.id);
      const problem = quotaViolation(locked.quota, usage, {
        sandboxes: 1,
        vcpus: sandbox.vcpus,
        memoryMiB: sandbox.memoryMiB,
      });
      // Returned, not thrown: nothing was written, and on SQLite a rollback would also
      // undo writes that other requests made meanwhile on the shared connection.
      if (problem) return problem;
      await manager.insert(SandboxEntity, sandbox);
      return undefined;
    });
    if (violation) throw new ApiError(ErrorCode.QUOTA_EXCEEDED, `quota of tenant "${tenant.name}" exceeded: ${violation}`);
    this.announce(sandbox);
    await this.placePending();
    return (await this.sandboxes.findOneBy({ id: sandbox.id })) ?? sandbox;
  }

  list(principal: Principal, filter: { state?: SandboxState; deploymentId?: string } = {}): Promise<SandboxEntity[]> {
    return this.sandboxes.find({
      where: {
        ...(principal.kind === 'tenant' ? { tenantId: principal.tenantId } : {}),
        ...(filter.state ? { state: filter.state } : {}),
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
        await manager.delete(SandboxEntity, { id });
        return { sandbox: { ...sandbox, state: 'stopped' as const }, removed: true };
      }
      if (sandbox.desiredState !== 'deleted') {
        Object.assign(sandbox, { desiredState: 'deleted', state: 'stopping', updatedAt: new Date() });
        await manager.save(sandbox);
      }
      return { sandbox, removed: false };
    });
    if (!found) throw this.notFound(id);
    const { sandbox, removed } = found;
    if (removed) {
      this.ui.sandboxDeleted(sandbox.id, sandbox.tenantId);
      return sandbox;
    }
    this.announce(sandbox);
    if (sandbox.nodeId) await this.afterNodeChange(sandbox.nodeId);
    // Its room counts as free from now on (allocation covers sandboxes meant to run).
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
    if (sandbox.state !== 'running' || sandbox.desiredState !== 'running') {
      throw new ApiError(ErrorCode.SANDBOX_NOT_RUNNING, `sandbox ${id} is ${sandbox.state}, not running`);
    }
    if (!sandbox.nodeId || !(await this.nodes.isUp(sandbox.nodeId))) {
      throw new ApiError(ErrorCode.NODE_UNAVAILABLE, `the node of sandbox ${id} is not connected`);
    }
    return sandbox.nodeId;
  }

  /** Places pending sandboxes and tells the nodes that got some. */
  async placePending(): Promise<void> {
    const placed = await this.scheduler.placePending();
    placed.forEach((sandbox) => this.announce(sandbox));
    await this.nodesChanged(placed.map((sandbox) => sandbox.nodeId).filter((id): id is string => id !== null));
  }

  /** Sends a node the full set of sandboxes it should run. */
  async publishDesired(nodeId: string): Promise<void> {
    await this.publishDesiredMany([nodeId]);
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
    for (const chunk of chunks(ids, IN_LIST_CHUNK)) {
      (await this.sandboxes.findBy({ id: In(chunk) })).forEach((sandbox) => this.announce(sandbox));
      await yieldToEventLoop();
    }
  }

  private async publishDesiredMany(nodeIds: readonly string[]): Promise<void> {
    const byNode = new Map<string, DesiredSandbox[]>(nodeIds.map((id) => [id, []]));
    for (const chunk of chunks(nodeIds, IN_LIST_CHUNK)) {
      const sandboxes = await this.sandboxes.find({
        where: { nodeId: In(chunk), desiredState: 'running', state: Not('failed') },
        order: { createdAt: 'ASC' },
      });
      sandboxes.forEach((sandbox) => byNode.get(sandbox.nodeId ?? '')?.push(toDesired(sandbox)));
      await yieldToEventLoop();
    }
    byNode.forEach((sandboxes, nodeId) => this.agents.pushDesired(nodeId, { sandboxes }));
  }

  /** Records what a node observed about one of its sandboxes. */
  async applyStatus(nodeId: string, status: SandboxStatus): Promise<void> {
    const outcome = await this.transactions.run(async (manager) => {
      const sandbox = await manager.findOneBy(SandboxEntity, { id: status.id });
      if (!sandbox || sandbox.nodeId !== nodeId) return 'ignored' as const;
      if (status.state === 'gone') return this.gone(manager, sandbox);
      const wasFailed = sandbox.state === 'failed';
      // While being deleted it stays `stopping` until gone, whatever else is reported.
      if (sandbox.desiredState === 'running') sandbox.state = status.state;
      if (status.timings.length > 0) sandbox.timings = status.timings;
      if (status.guest) sandbox.guest = status.guest;
      if (status.network) {
        sandbox.ip = status.network.ip;
        sandbox.ports = status.network.ports;
      }
      if (status.transport) sandbox.transport = status.transport;
      sandbox.progress = status.progress ?? null;
      if (status.state === 'failed') {
        sandbox.error = status.error ?? { code: 'SANDBOX_FAILED', message: 'the node reported the sandbox failed' };
      } else if (status.state !== 'stopping' && status.state !== 'stopped') {
        sandbox.error = null;
      }
      sandbox.updatedAt = new Date();
      await manager.save(sandbox);
      // A failed sandbox leaves the desired set, so the node must hear about it.
      return { sandbox, desiredChanged: !wasFailed && sandbox.state === 'failed' };
    });
    if (outcome === 'ignored') {
      this.logger.warn({ nodeId, sandboxId: status.id }, 'status for a sandbox not placed on this node ignored');
      return;
    }
    await this.publishOutcome(nodeId, outcome);
  }

  /**
   * Treats sandboxes being deleted that the node no longer lists as gone, in case the
   * agent lost track of one and never reports it.
   */
  async reconcile(nodeId: string, presentIds: string[]): Promise<void> {
    const present = new Set(presentIds);
    const deleting = await this.sandboxes.find({ where: { nodeId, desiredState: 'deleted' } });
    const vanished = deleting.filter((sandbox) => !present.has(sandbox.id));
    if (vanished.length === 0) return;
    await this.transactions.run((manager) =>
      manager.delete(SandboxEntity, { id: In(vanished.map((s) => s.id)), desiredState: 'deleted' }),
    );
    vanished.forEach((sandbox) => this.ui.sandboxDeleted(sandbox.id, sandbox.tenantId));
    await this.nodes.announce(nodeId);
  }

  private async gone(
    manager: EntityManager,
    sandbox: SandboxEntity,
  ): Promise<{ sandbox: SandboxEntity; desiredChanged: boolean; removed?: true }> {
    if (sandbox.desiredState === 'deleted') {
      await manager.delete(SandboxEntity, { id: sandbox.id });
      return { sandbox, desiredChanged: false, removed: true };
    }
    if (sandbox.state === 'failed') return { sandbox, desiredChanged: false };
    Object.assign(sandbox, {
      state: 'failed',
      error: { code: 'SANDBOX_LOST', message: 'the node no longer has this sandbox' },
      updatedAt: new Date(),
    });
    await manager.save(sandbox);
    return { sandbox, desiredChanged: true };
  }

  private async publishOutcome(
    nodeId: string,
    outcome: { sandbox: SandboxEntity; desiredChanged: boolean; removed?: true },
  ): Promise<void> {
    if (outcome.sandbox.deploymentId) this.managedChanges.next(outcome.sandbox.deploymentId);
    if (outcome.removed) {
      this.ui.sandboxDeleted(outcome.sandbox.id, outcome.sandbox.tenantId);
      await this.nodes.announce(nodeId);
      return;
    }
    this.announce(outcome.sandbox);
    if (outcome.desiredChanged) await this.publishDesired(nodeId);
  }

  private async afterNodeChange(nodeId: string): Promise<void> {
    await this.nodesChanged([nodeId]);
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
    this.ui.sandboxUpdated(SandboxDto.from(sandbox));
  }
}

/** Keeps `IN (…)` lists well below the bind-parameter limits of SQLite and PostgreSQL. */
export const IN_LIST_CHUNK = 1000;

/** `items` in consecutive slices of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function toDesired(sandbox: SandboxEntity): DesiredSandbox {
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
  };
}
