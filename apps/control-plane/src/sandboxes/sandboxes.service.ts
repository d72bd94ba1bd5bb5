import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EXEC_DEFAULT_REPLY_WAIT_MS, EXEC_REPLY_MARGIN_MS, type ContainerdSandbox, type ExecResult, type SandboxState, type SandboxStats } from '@moat/proto';
import { EntityManager, Repository } from 'typeorm';
import type { Principal } from '../auth/principal';
import { ErrorCode, ApiError } from '../common/api.error';
import { Transactions } from '../database/transactions.service';
import { AgentChannel } from '../fleet/agent.channel';
import { DesiredStatePublisher } from '../fleet/desired-state.publisher';
import { NodesService } from '../nodes/nodes.service';
import { bumpSchedulerEpoch } from '../scheduler/capacity-index';
import { SchedulerService } from '../scheduler/scheduler.service';
import { TenantsService } from '../tenants/tenants.service';
import { SandboxAnnouncer } from './announce/sandbox.announcer';
import { CreateSandboxDto } from './dto/create-sandbox.dto';
import { ExecDto } from './dto/exec.dto';
import { dnsConfigOf, egressPolicyOf } from './dto/sandbox-fences.dto';
import { restartPolicyOf } from './dto/sandbox-lifecycle.dto';
import { SandboxDto } from './dto/sandbox.dto';
import { HIBERNATION_STATES, isReleased, wakesOnUse, wholeVmRefusal } from './model/hibernation';
import { newSandbox, SandboxEntity } from './model/sandbox.entity';
import { SandboxesRepository } from './model/sandboxes.repository';
import { SandboxMigrator } from './move/sandbox-migrator';
import { SandboxMover } from './move/sandbox.mover';
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

/** The tenant API of sandboxes: create (through the scheduler), list, delete, and what runs in them through their node. */
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
    private readonly mover: SandboxMover,
    private readonly migrator: SandboxMigrator,
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
    if (this.isVisible(principal, sandbox)) return SandboxDto.from(sandbox);
    const [task] = principal.kind === 'admin' ? await this.nodes.containerdSandboxes({ id }) : [];
    if (task) return SandboxDto.fromContainerd(task);
    throw this.notFound(id);
  }

  /**
   * A sandbox of Moat's the principal may use (read in the caller's transaction when given). A
   * sandbox containerd started answers (the admin) MANAGED_BY_CONTAINERD: every operation on it
   * but reading it is containerd's.
   */
  async get(principal: Principal, id: string, manager: EntityManager = this.sandboxes.manager): Promise<SandboxEntity> {
    const sandbox = await manager.findOneBy(SandboxEntity, { id });
    if (!this.isVisible(principal, sandbox)) throw await this.missing(principal, id);
    return sandbox;
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
    if (!found) throw await this.missing(principal, id);
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

  /**
   * Asks its node to hibernate (true) or wake (false) the sandbox: its node's desired set says
   * so, and the node reports `hibernating` → `hibernated`, or `waking` → `running`. Only a
   * `rootfs: block` sandbox hibernates (HIBERNATE_UNSUPPORTED), and only one that runs or is on
   * its way into or out of hibernation is asked (SANDBOX_NOT_RUNNING); asking for what is
   * already asked changes nothing. Waking takes back the vCPUs and memory a hibernated sandbox
   * gave up, so its tenant's quota must have room for them (QUOTA_EXCEEDED), and a node too: its
   * own, or — when that one is cordoned, draining or full — another the scheduler picks, to which
   * its saved state moves in the background (it is `waking` meanwhile; see SandboxMover).
   * SAVED_STATE_UNREACHABLE while its own node is down, INSUFFICIENT_RESOURCES when no node fits.
   */
  async setHibernated(principal: Principal, id: string, hibernated: boolean): Promise<SandboxEntity> {
    const found = await this.transactions.run(async (manager) => {
      const sandbox = await manager.findOneBy(SandboxEntity, { id });
      if (!this.isVisible(principal, sandbox)) return undefined;
      const unsupported = hibernated ? wholeVmRefusal(sandbox) : undefined;
      if (unsupported) throw new ApiError(ErrorCode.HIBERNATE_UNSUPPORTED, `${unsupported}: only one created with rootfs "block" can hibernate`);
      if (sandbox.desiredState !== 'running' || !HIBERNATION_STATES.includes(sandbox.state)) {
        throw new ApiError(ErrorCode.SANDBOX_NOT_RUNNING, `sandbox ${id} is ${sandbox.state}, neither running nor hibernated`);
      }
      if (sandbox.desiredHibernated === hibernated) return { sandbox, changed: false };
      if (isReleased(sandbox)) {
        // The scheduler's lock, so no admission checks the quota meanwhile; it also has every
        // replica's capacity index rebuilt, with the vCPUs and memory taken back.
        await bumpSchedulerEpoch(manager);
        const refusal = await this.tenants.admissionRefusal(manager, sandbox.tenantId, { sandboxes: 0, vcpus: sandbox.vcpus, memoryMiB: sandbox.memoryMiB });
        if (refusal) throw refusal;
        const elsewhere = await this.mover.destination(manager, sandbox);
        if (elsewhere) {
          const move = await this.mover.begin(manager, sandbox, elsewhere, new Date());
          // A concurrent wake started the move first: this one changes nothing.
          return move ? { sandbox, changed: true, move } : { sandbox: await this.get(principal, id, manager), changed: false };
        }
      }
      const now = new Date();
      await this.rows.storeHibernation(manager, id, hibernated, now);
      return { sandbox: Object.assign(sandbox, { desiredHibernated: hibernated, updatedAt: now }), changed: true };
    });
    if (!found) throw await this.missing(principal, id);
    const { sandbox, changed } = found;
    const move = 'move' in found ? found.move : undefined;
    if (changed) {
      this.announcer.updated(sandbox);
      await this.publisher.nodesChanged(move ? [move.from, move.to] : [sandbox.nodeId as string]);
    }
    if (move) void this.mover.run(move, principal);
    return sandbox;
  }

  /**
   * Live-migrates a running sandbox to another node while it runs (see SandboxMigrator): to
   * `nodeId` when given, else where the scheduler places it. It is `migrating` on its node until
   * the target runs it; the migration goes on in the background. MIGRATION_UNSUPPORTED unless
   * `rootfs: block`, SANDBOX_NOT_RUNNING unless it runs (or while it migrates already);
   * NODE_NOT_FOUND, INVALID_STATE or INSUFFICIENT_RESOURCES for a target that cannot take it,
   * INSUFFICIENT_RESOURCES when no other node can.
   */
  async migrate(principal: Principal, id: string, nodeId: string | undefined): Promise<SandboxEntity> {
    const { sandbox, migration } = await this.transactions.run(async (manager) => {
      const sandbox = await this.get(principal, id, manager);
      const migration = await this.migrator.begin(manager, sandbox, nodeId);
      // A concurrent request started a move first: this one changes nothing.
      return migration ? { sandbox, migration } : { sandbox: await this.get(principal, id, manager), migration: undefined };
    });
    if (migration) {
      this.announcer.updated(sandbox);
      await this.publisher.nodesChanged([migration.from, migration.to]);
      void this.migrator.run(migration, principal);
    }
    return sandbox;
  }

  /** Runs a command in a running sandbox through its node's agent. */
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
    return this.nodeOfRunning(await this.get(principal, id));
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
    const sandbox = await this.get(principal, id);
    if (!wakesOnUse(sandbox)) return this.nodeOfRunning(sandbox);
    await this.setHibernated(principal, id, false);
    return this.nodeOfRunning(
      await untilAwake(id, async (sandboxId) => {
        const row = await this.sandboxes.findOneBy({ id: sandboxId });
        if (!row) throw this.notFound(sandboxId);
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

  private isVisible(principal: Principal, sandbox: SandboxEntity | null): sandbox is SandboxEntity {
    // Another tenant's sandbox is reported missing, not forbidden, so ids reveal nothing.
    return sandbox !== null && (principal.kind === 'admin' || sandbox.tenantId === principal.tenantId);
  }

  /** Why the principal cannot use this id: it names a sandbox containerd owns (the admin only), or nothing it may see. */
  private async missing(principal: Principal, id: string): Promise<ApiError> {
    const [task] = principal.kind === 'admin' ? await this.nodes.containerdSandboxes({ id }) : [];
    if (!task) return this.notFound(id);
    const { namespace, id: taskId } = task.containerd;
    return new ApiError(
      ErrorCode.MANAGED_BY_CONTAINERD,
      `sandbox ${id} is containerd task ${taskId} in namespace ${namespace} on node ${task.nodeId}: containerd manages it; ` +
        `delete it through containerd (ctr task delete / crictl)`,
    );
  }

  private notFound(id: string): ApiError {
    return new ApiError(ErrorCode.NOT_FOUND, `sandbox ${id} not found`);
  }
}
