import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EXEC_DEFAULT_REPLY_WAIT_MS, EXEC_REPLY_MARGIN_MS, type ContainerdSandbox, type ExecResult, type SandboxState, type SandboxStats } from '@moat/proto';
import { Repository } from 'typeorm';
import type { Principal } from '../auth/principal';
import { ErrorCode, ApiError } from '../common/api.error';
import { Transactions } from '../database/transactions.service';
import { AgentChannel } from '../fleet/agent.channel';
import { DesiredStatePublisher } from '../fleet/desired-state.publisher';
import { NodesService } from '../nodes/nodes.service';
import { SchedulerService } from '../scheduler/scheduler.service';
import { TenantsService } from '../tenants/tenants.service';
import { SandboxAnnouncer } from './announce/sandbox.announcer';
import { CreateSandboxDto } from './dto/create-sandbox.dto';
import { ExecDto } from './dto/exec.dto';
import { dnsConfigOf, egressPolicyOf } from './dto/sandbox-fences.dto';
import { restartPolicyOf } from './dto/sandbox-lifecycle.dto';
import { SandboxDto } from './dto/sandbox.dto';
import { wakesOnUse } from './model/hibernation';
import { newSandbox, SandboxEntity } from './model/sandbox.entity';
import { SandboxesRepository } from './model/sandboxes.repository';
import { isVisible, SandboxLookup, sandboxNotFound } from './sandbox-lookup';
import { SandboxMovesService } from './sandbox-moves.service';
import { untilAwake } from './wake-on-use';

const DEFAULT_VCPUS = 1;
const DEFAULT_MEMORY_MIB = 256;

/** Filters of the sandbox list. */
export interface SandboxFilter {
  state?: SandboxState;
  nodeId?: string;
  tenantId?: string;
  deploymentId?: string;
}

/**
 * Where an exec's time went, in ms: finding the sandbox and its node (auth'd read), the round trip
 * to the node (socket.io both ways, the node agent, the guest), and the guest's part of it as the
 * node measured it (gRPC over the guest channel, the guest agent, the process).
 */
export interface ExecTimings {
  lookupMs: number;
  nodeMs: number;
  guestMs?: number;
}

/**
 * The tenant API of sandboxes: create (through the scheduler), list, delete, and what runs in
 * them through their node (exec, stats, pause); hibernate, wake and migrate are SandboxMovesService's.
 */
@Injectable()
export class SandboxesService {
  constructor(
    @InjectRepository(SandboxEntity) private readonly sandboxes: Repository<SandboxEntity>,
    private readonly transactions: Transactions,
    private readonly rows: SandboxesRepository,
    private readonly tenants: TenantsService,
    private readonly nodes: NodesService,
    private readonly scheduler: SchedulerService,
    private readonly agents: AgentChannel,
    private readonly publisher: DesiredStatePublisher,
    private readonly announcer: SandboxAnnouncer,
    private readonly lookup: SandboxLookup,
    private readonly moves: SandboxMovesService,
  ) {}

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
          idleTimeoutSeconds: dto.idleTimeoutSeconds ?? null,
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
      case 'network-unavailable':
        throw admission.error;
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

  /**
   * The sandboxes containerd started on the fleet's nodes, as they reported them: the admin's
   * alone (a tenant sees none), and none when the filter names a tenant or a deployment.
   */
  async listContainerd(principal: Principal, filter: SandboxFilter = {}): Promise<(ContainerdSandbox & { nodeId: string })[]> {
    if (principal.kind !== 'admin' || filter.tenantId || filter.deploymentId) return [];
    const sandboxes = await this.nodes.containerdSandboxes({ nodeId: filter.nodeId });
    return filter.state ? sandboxes.filter((s) => s.state === filter.state) : sandboxes;
  }

  /** One sandbox as `GET /v1/sandboxes/:id` shows it: Moat's own, or (for the admin) one containerd started. */
  async describe(principal: Principal, id: string): Promise<SandboxDto> {
    const sandbox = await this.sandboxes.findOneBy({ id });
    if (isVisible(principal, sandbox)) return SandboxDto.from(sandbox);
    const [task] = principal.kind === 'admin' ? await this.nodes.containerdSandboxes({ id }) : [];
    if (task) return SandboxDto.fromContainerd(task);
    throw sandboxNotFound(id);
  }

  /**
   * Asks for the sandbox to go away. A placed one becomes `stopping` until its node reports
   * it gone; one never placed is removed at once (and reported `stopped`).
   */
  async delete(principal: Principal, id: string): Promise<SandboxEntity> {
    const found = await this.transactions.run(async (manager) => {
      const sandbox = await manager.findOneBy(SandboxEntity, { id });
      if (!isVisible(principal, sandbox)) return undefined;
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
    if (!found) throw await this.lookup.missing(principal, id);
    const { sandbox, removed } = found;
    // Its room and quota count as free from now on (both cover sandboxes meant to run).
    await this.scheduler.invalidate();
    if (removed) {
      this.announcer.deleted(sandbox);
      return sandbox;
    }
    this.announcer.updated(sandbox);
    if (sandbox.nodeId) await this.publisher.nodesChanged([sandbox.nodeId]);
    await this.scheduler.placePending();
    return sandbox;
  }

  /** Runs the command on the sandbox's node; says how long each leg took (for `Server-Timing`). */
  async exec(principal: Principal, id: string, dto: ExecDto): Promise<{ result: ExecResult; timings: ExecTimings }> {
    const started = performance.now();
    const nodeId = await this.awakeNode(principal, id);
    const found = performance.now();
    const wait = dto.timeoutMs === undefined ? EXEC_DEFAULT_REPLY_WAIT_MS : dto.timeoutMs + EXEC_REPLY_MARGIN_MS;
    const { guestMs, ...result } = await this.agents.exec(
      nodeId,
      { sandboxId: id, command: dto.command, stdin: dto.stdin, env: dto.env, cwd: dto.cwd, timeoutMs: dto.timeoutMs, tty: dto.tty },
      wait,
    );
    return { result, timings: { lookupMs: found - started, nodeMs: performance.now() - found, ...(guestMs !== undefined && { guestMs }) } };
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

  /** The node of a running sandbox the principal may use: NOT_FOUND, SANDBOX_NOT_RUNNING or NODE_UNAVAILABLE otherwise. */
  private async runningNode(principal: Principal, id: string): Promise<string> {
    return this.nodeOfRunning(await this.lookup.get(principal, id));
  }

  /**
   * The node of a running sandbox the principal may use, for an exec, an attach session (the
   * attach gateway starts it there) or a file request. One that is hibernated, on its way there
   * or back, or asked to go, is woken first (wake-on-use): asked to wake as `POST /wake`
   * does (QUOTA_EXCEEDED when its quota has no room), then awaited until its node reports it
   * running. WAKE_FAILED when the wake fails it, WAKE_TIMEOUT when it is not running within
   * WAKE_ON_USE_TIMEOUT_MS.
   */
  async awakeNode(principal: Principal, id: string): Promise<string> {
    const sandbox = await this.lookup.get(principal, id);
    if (!wakesOnUse(sandbox)) return this.nodeOfRunning(sandbox);
    await this.moves.setHibernated(principal, id, false);
    return this.nodeOfRunning(
      await untilAwake(id, async (sandboxId) => {
        const row = await this.sandboxes.findOneBy({ id: sandboxId });
        if (!row) throw sandboxNotFound(sandboxId);
        return row;
      }),
    );
  }

  /** Its node, when the sandbox runs there and the node is connected: SANDBOX_NOT_RUNNING or NODE_UNAVAILABLE otherwise. */
  private async nodeOfRunning(sandbox: SandboxEntity): Promise<string> {
    const id = sandbox.id;
    if (sandbox.state === 'unknown') {
      throw new ApiError(ErrorCode.NODE_UNAVAILABLE, `the node of sandbox ${id} is not connected`);
    }
    // A migrating sandbox runs on its node until the target runs it.
    if ((sandbox.state !== 'running' && sandbox.state !== 'migrating') || sandbox.desiredState !== 'running') {
      throw new ApiError(ErrorCode.SANDBOX_NOT_RUNNING, `sandbox ${id} is ${sandbox.state}, not running`);
    }
    if (!sandbox.nodeId || !(await this.nodes.isUp(sandbox.nodeId))) {
      throw new ApiError(ErrorCode.NODE_UNAVAILABLE, `the node of sandbox ${id} is not connected`);
    }
    return sandbox.nodeId;
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

}
