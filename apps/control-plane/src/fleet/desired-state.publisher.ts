import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { DesiredSandbox } from '@moat/proto';
import { FindOptionsSelect, In, IsNull, Not, Repository } from 'typeorm';
import { NodesService } from '../nodes/nodes.service';
import { SandboxAnnouncer } from '../sandboxes/announce/sandbox.announcer';
import { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import { SchedulerService } from '../scheduler/scheduler.service';
import { AgentChannel } from './agent.channel';

/**
 * Sends node agents their desired sets: each node always gets the full set of sandboxes it
 * should run (level-triggered; it stops whatever is not in it), read for many nodes at once.
 * Scheduler commits are heard here: what they admitted, placed or explained goes to dashboards, and
 * the nodes that got sandboxes get their new sets.
 */
@Injectable()
export class DesiredStatePublisher implements OnModuleInit {
  constructor(
    @InjectRepository(SandboxEntity) private readonly sandboxes: Repository<SandboxEntity>,
    private readonly agents: AgentChannel,
    private readonly scheduler: SchedulerService,
    private readonly nodes: NodesService,
    private readonly announcer: SandboxAnnouncer,
  ) {}

  onModuleInit(): void {
    this.scheduler.onCommit(async ({ admitted, placed, explained }) => {
      const announced = new Set<string>();
      for (const sandbox of [...admitted, ...placed, ...explained]) {
        if (announced.has(sandbox.id)) continue;
        announced.add(sandbox.id);
        this.announcer.updated(sandbox);
      }
      await this.nodesChanged(placed.flatMap((s) => (s.nodeId ? [s.nodeId] : [])));
    });
  }

  /**
   * Sends each node its full desired set and refreshes them on dashboards, reading all of
   * them at once (a rollout touches hundreds of nodes in one pass).
   */
  async nodesChanged(nodeIds: readonly string[]): Promise<void> {
    const unique = [...new Set(nodeIds)];
    if (unique.length === 0) return;
    await this.publish(unique);
    await this.nodes.announceMany(unique);
  }

  /** Sends each node its full desired set, reading all of them in one query. */
  async publish(nodeIds: readonly string[]): Promise<void> {
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
    for (const [id, desired] of byNode) this.agents.pushDesired(id, { sandboxes: desired });
  }
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
