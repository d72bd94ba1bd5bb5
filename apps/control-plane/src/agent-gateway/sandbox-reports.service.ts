import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { ContainerdSandbox, SandboxStatus } from '@moat/proto';
import { In, Repository } from 'typeorm';
import { chunks, IN_LIST_CHUNK } from '../common/chunks';
import { Transactions } from '../database/transactions.service';
import { DesiredStatePublisher } from '../fleet/desired-state.publisher';
import { NodesService } from '../nodes/nodes.service';
import { SandboxAnnouncer } from '../sandboxes/announce/sandbox.announcer';
import { ManagedSandboxChanges } from '../sandboxes/model/managed-changes';
import { applyStatus, type StatusOutcome } from '../sandboxes/model/sandbox-status';
import { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import { SandboxesRepository, type TypedStatusColumn } from '../sandboxes/model/sandboxes.repository';
import { SchedulerService } from '../scheduler/scheduler.service';

/** A node's latest heartbeat: the sandboxes it holds, and when the control plane heard it. */
export interface NodeBeat {
  sandboxIds: readonly string[];
  /** The sandboxes containerd started there; absent: an older agent that lists none. */
  containerd?: readonly ContainerdSandbox[];
  receivedAt: Date;
}

/**
 * Takes in what node agents report about their sandboxes (status events, heartbeats' lists):
 * stores the observed state, then tells dashboards, deployments and the nodes whose desired
 * sets changed.
 */
@Injectable()
export class SandboxReports {
  private readonly logger = new Logger(SandboxReports.name);

  constructor(
    @InjectRepository(SandboxEntity) private readonly sandboxes: Repository<SandboxEntity>,
    private readonly rows: SandboxesRepository,
    private readonly transactions: Transactions,
    private readonly publisher: DesiredStatePublisher,
    private readonly nodes: NodesService,
    private readonly announcer: SandboxAnnouncer,
    private readonly managed: ManagedSandboxChanges,
    private readonly scheduler: SchedulerService,
  ) {}

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
      const typedChanged = new Map<TypedStatusColumn, Set<SandboxEntity>>();
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
        const outcome = applyStatus(sandbox, status, at);
        if (outcome.removed) {
          gone.push(sandbox.id);
          byId.delete(sandbox.id);
          changed.delete(sandbox);
          typedChanged.forEach((sandboxes) => sandboxes.delete(sandbox));
        } else if (outcome.changed) {
          changed.add(sandbox);
          for (const column of outcome.typedChanged ?? []) {
            const sandboxes = typedChanged.get(column);
            if (sandboxes) sandboxes.add(sandbox);
            else typedChanged.set(column, new Set([sandbox]));
          }
        }
        outcomes.push(outcome);
      }
      // Every row the batch changed, in a few statements (thousands of reports follow a large placement).
      await this.rows.removeGone(manager, gone);
      await this.rows.storeObserved(manager, [...changed], typedChanged, at);
      return { outcomes, ignored };
    });
    for (const { nodeId, sandboxId } of ignored) {
      this.logger.warn({ nodeId, sandboxId }, 'status for a sandbox not placed on this node ignored');
    }
    await this.publishOutcomes(outcomes);
  }

  /**
   * Treats sandboxes being deleted that their node no longer lists (in its latest
   * heartbeat) as gone, in case the agent lost track of one and never reports it. Only a
   * heartbeat received after the sandbox's last change counts: one sent before the node even
   * reported the sandbox does not list it either.
   */
  async reconcile(beatsByNode: ReadonlyMap<string, NodeBeat>): Promise<void> {
    const vanished: SandboxEntity[] = [];
    for (const nodeIds of chunks([...beatsByNode.keys()], IN_LIST_CHUNK)) {
      const deleting = await this.sandboxes.find({
        where: { nodeId: In(nodeIds), desiredState: 'deleted' },
      });
      vanished.push(
        ...deleting.filter((s) => {
          const beat = beatsByNode.get(s.nodeId as string);
          return beat !== undefined && beat.receivedAt > s.updatedAt && !beat.sandboxIds.includes(s.id);
        }),
      );
    }
    if (vanished.length === 0) return;
    await this.transactions.run((manager) => this.rows.removeGone(manager, vanished.map((s) => s.id)));
    vanished.forEach((sandbox) => this.announcer.deleted(sandbox));
    await this.nodes.announceMany([...new Set(vanished.map((s) => s.nodeId as string))]);
  }

  /**
   * Tells dashboards, deployments and nodes what a batch of status reports changed, and the
   * scheduler when hibernated sandboxes gave up or took back their vCPUs and memory.
   */
  private async publishOutcomes(outcomes: readonly StatusOutcome[]): Promise<void> {
    // Nodes whose sandboxes hold less or more of them than before.
    const reallocated = new Set<string>();
    const changedDesired = new Set<string>();
    let released = false;
    for (const { sandbox, desiredChanged, removed, releasedChanged } of outcomes) {
      if (sandbox.deploymentId) this.managed.changed(sandbox.deploymentId);
      const nodeId = sandbox.nodeId as string;
      if (removed) {
        this.announcer.deleted(sandbox);
        reallocated.add(nodeId);
        continue;
      }
      this.announcer.updated(sandbox);
      if (desiredChanged) changedDesired.add(nodeId);
      if (releasedChanged) {
        released = true;
        reallocated.add(nodeId);
      }
    }
    await this.publisher.publish([...changedDesired]);
    if (released) {
      await this.scheduler.invalidate();
      await this.scheduler.placePending();
    }
    await this.nodes.announceMany([...reallocated]);
  }
}
