import { Injectable } from '@nestjs/common';
import { EntityManager, In, IsNull } from 'typeorm';
import { yieldToEventLoop } from '../common/yield';
import { Transactions } from '../database/transactions.service';
import { forUpdate } from '../database/row-lock';
import { NodeEntity } from '../nodes/node.entity';
import { SandboxEntity } from '../sandboxes/sandbox.entity';
import { loadAllocations, NOTHING_ALLOCATED } from './allocation';
import { Candidate, chooseNode } from './placement';

/** Placements between chances for the event loop to serve sockets (see yieldToEventLoop). */
const YIELD_EVERY = 200;

/** Places pending sandboxes on ready nodes with room. */
@Injectable()
export class SchedulerService {
  constructor(private readonly transactions: Transactions) {}

  /** Places what it can, oldest first; returns the sandboxes it placed. */
  placePending(): Promise<SandboxEntity[]> {
    return this.transactions.run((manager) => this.place(manager));
  }

  private async place(manager: EntityManager): Promise<SandboxEntity[]> {
    const pending = await manager.find(SandboxEntity, {
      where: { nodeId: IsNull(), desiredState: 'running', state: 'pending' },
      order: { createdAt: 'ASC' },
    });
    if (pending.length === 0) return [];

    // Locking the ready nodes makes replicas sharing PostgreSQL place one at a time.
    const nodes = await forUpdate(
      manager,
      manager.createQueryBuilder(NodeEntity, 'n').where('n.state = :ready', { ready: 'ready' }),
    ).getMany();
    const allocations = await loadAllocations(manager);
    const candidates: Candidate[] = nodes.map((node) => ({
      id: node.id,
      capacity: node.capacity,
      allocated: { ...(allocations.get(node.id) ?? NOTHING_ALLOCATED) },
    }));

    const peers = await loadPeers(manager, pending);
    const placed: SandboxEntity[] = [];
    for (const [index, sandbox] of pending.entries()) {
      if (index > 0 && index % YIELD_EVERY === 0) await yieldToEventLoop();
      const ofDeployment = sandbox.deploymentId ? peers.get(sandbox.deploymentId) : undefined;
      const node = chooseNode(
        { vcpus: sandbox.vcpus, memoryMiB: sandbox.memoryMiB },
        candidates,
        (nodeId) => ofDeployment?.get(nodeId) ?? 0,
      );
      if (!node) continue;
      ofDeployment?.set(node.id, (ofDeployment.get(node.id) ?? 0) + 1);
      node.allocated.vcpus += sandbox.vcpus;
      node.allocated.memoryMiB += sandbox.memoryMiB;
      sandbox.nodeId = node.id;
      sandbox.updatedAt = new Date();
      // Only if still unplaced: another replica may have placed it since it was read.
      const result = await manager.update(
        SandboxEntity,
        { id: sandbox.id, nodeId: IsNull(), desiredState: 'running' },
        { nodeId: node.id, updatedAt: sandbox.updatedAt },
      );
      if (result.affected) placed.push(sandbox);
    }
    return placed;
  }
}

/** Per deployment of the pending sandboxes: how many of its replicas each node runs. */
async function loadPeers(manager: EntityManager, pending: SandboxEntity[]): Promise<Map<string, Map<string, number>>> {
  const deploymentIds = [...new Set(pending.map((s) => s.deploymentId).filter((id): id is string => id !== null))];
  const peers = new Map(deploymentIds.map((id) => [id, new Map<string, number>()]));
  if (deploymentIds.length === 0) return peers;
  const rows = await manager
    .createQueryBuilder(SandboxEntity, 's')
    .select('s.deploymentId', 'deploymentId')
    .addSelect('s.nodeId', 'nodeId')
    .addSelect('COUNT(*)', 'count')
    .where({ deploymentId: In(deploymentIds), desiredState: 'running' })
    .andWhere('s.nodeId IS NOT NULL')
    .groupBy('s.deploymentId')
    .addGroupBy('s.nodeId')
    .getRawMany<{ deploymentId: string; nodeId: string; count: string | number }>();
  rows.forEach((row) => peers.get(row.deploymentId)?.set(row.nodeId, Number(row.count)));
  return peers;
}
