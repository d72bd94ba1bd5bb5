import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../../auth/principal';
import { ApiError, ErrorCode } from '../../common/api.error';
import { Transactions } from '../../database/transactions.service';
import { DesiredStatePublisher } from '../../fleet/desired-state.publisher';
import { TenantAddresses } from '../../networks/tenant-addresses';
import { NodeEntity } from '../../nodes/node.entity';
import { bumpSchedulerEpoch } from '../../scheduler/capacity-index';
import { loadNodeRoom, roomShortfall } from '../../scheduler/node-room';
import { SchedulerService } from '../../scheduler/scheduler.service';
import { NO_USAGE, withAdded } from '../../tenants/model/quota';
import { TenantsService } from '../../tenants/tenants.service';
import { SandboxAnnouncer } from '../announce/sandbox.announcer';
import { forkedEvents, newClone } from '../model/fork';
import { wholeVmRefusal } from '../model/hibernation';
import type { SandboxEntity } from '../model/sandbox.entity';
import { SandboxesRepository } from '../model/sandboxes.repository';
import { SandboxLookup } from '../sandbox-lookup';

/**
 * Forks: clones of a running sandbox, each started by the source's node from one capture of it
 * (see `forkOf` in the fleet protocol's desired sandbox).
 */
@Injectable()
export class SandboxForkService {
  constructor(
    private readonly transactions: Transactions,
    private readonly lookup: SandboxLookup,
    private readonly rows: SandboxesRepository,
    private readonly tenants: TenantsService,
    private readonly scheduler: SchedulerService,
    private readonly addresses: TenantAddresses,
    private readonly publisher: DesiredStatePublisher,
    private readonly announcer: SandboxAnnouncer,
  ) {}

  /**
   * Stores `count` clones of the sandbox (see newClone), placed on its node: all of them or none.
   * Only a running `rootfs: block` sandbox forks (FORK_UNSUPPORTED, SANDBOX_NOT_RUNNING); its
   * tenant's quota must take the clones (QUOTA_EXCEEDED), and its node, which must take new
   * sandboxes (INVALID_STATE when cordoned or draining), their vCPUs and memory
   * (INSUFFICIENT_RESOURCES). Its node is then sent its new desired set.
   */
  async fork(principal: Principal, id: string, count: number): Promise<SandboxEntity[]> {
    const { source, nodeId, clones } = await this.transactions.run(async (manager) => {
      const source = await this.lookup.get(principal, id, manager);
      const nodeId = this.forkableOn(source);
      // The scheduler's lock, as for any admission: no batch books the node or checks the quota
      // meanwhile, and every replica rebuilds its capacity index with the clones in it.
      await bumpSchedulerEpoch(manager);
      const refusal = await this.tenants.admissionRefusal(manager, source.tenantId, withAdded(NO_USAGE, source, count));
      if (refusal) throw refusal;
      await this.checkRoom(manager, source, nodeId, count);
      const now = new Date();
      const fork = { id: randomUUID(), count };
      const clones = Array.from({ length: count }, () => newClone(source, fork, now));
      const [refused] = await this.addresses.assign(manager, clones);
      if (refused) throw refused.error;
      Object.assign(source, { events: forkedEvents(source, clones, now), updatedAt: now });
      await this.rows.storeFork(manager, source, clones, now);
      return { source, nodeId, clones };
    });
    this.announcer.updated(source);
    clones.forEach((clone) => this.announcer.updated(clone));
    await this.publisher.nodesChanged([nodeId]);
    return clones;
  }

  /** The node of a sandbox that can be forked now; throws why it cannot. */
  private forkableOn(source: SandboxEntity): string {
    const unsupported = wholeVmRefusal(source);
    if (unsupported) throw new ApiError(ErrorCode.FORK_UNSUPPORTED, `${unsupported}: only one created with rootfs "block" can be forked`);
    if (source.state !== 'running' || source.desiredState !== 'running' || source.desiredHibernated || !source.nodeId) {
      const doing = source.desiredState === 'running' && source.desiredHibernated ? ', asked to hibernate' : '';
      throw new ApiError(ErrorCode.SANDBOX_NOT_RUNNING, `sandbox ${source.id} is ${source.state}${doing}: only a running one can be forked`);
    }
    return source.nodeId;
  }

  /** Throws unless the source's node takes new sandboxes and has room for `count` more of the source's size. */
  private async checkRoom(manager: EntityManager, source: SandboxEntity, nodeId: string, count: number): Promise<void> {
    const node = await manager.findOneBy(NodeEntity, { id: nodeId });
    if (node?.state !== 'ready') {
      throw new ApiError(
        ErrorCode.INVALID_STATE,
        `node ${node?.name ?? nodeId} of sandbox ${source.id} is ${node?.state ?? 'gone'}: it takes no new sandboxes, and clones run only where their source runs`,
      );
    }
    const shortfall = roomShortfall(await loadNodeRoom(manager, node, this.scheduler.overcommitFallback), source, count);
    if (shortfall) {
      throw new ApiError(
        ErrorCode.INSUFFICIENT_RESOURCES,
        `node ${node.name} of sandbox ${source.id} has no room for ${count} clone${count === 1 ? '' : 's'} (clones run only where their source runs): ${shortfall}`,
      );
    }
  }
}
