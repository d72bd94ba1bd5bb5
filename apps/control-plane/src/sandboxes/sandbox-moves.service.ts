import { Injectable } from '@nestjs/common';
import type { Principal } from '../auth/principal';
import { ErrorCode, ApiError } from '../common/api.error';
import { Transactions } from '../database/transactions.service';
import { DesiredStatePublisher } from '../fleet/desired-state.publisher';
import { bumpSchedulerEpoch } from '../scheduler/capacity-index';
import { TenantsService } from '../tenants/tenants.service';
import { SandboxAnnouncer } from './announce/sandbox.announcer';
import { HIBERNATION_STATES, isReleased, wholeVmRefusal } from './model/hibernation';
import { SandboxEntity } from './model/sandbox.entity';
import { SandboxesRepository } from './model/sandboxes.repository';
import { SandboxMigrator } from './move/sandbox-migrator';
import { SandboxMover } from './move/sandbox.mover';
import { isVisible, SandboxLookup } from './sandbox-lookup';

/**
 * What a tenant asks of where and whether a sandbox's VM runs: hibernate, wake (on its node or,
 * its saved state moving, on another) and live-migrate. The moves themselves run in the
 * background (move/); this stores the request, books the target and starts them.
 */
@Injectable()
export class SandboxMovesService {
  constructor(
    private readonly transactions: Transactions,
    private readonly rows: SandboxesRepository,
    private readonly lookup: SandboxLookup,
    private readonly tenants: TenantsService,
    private readonly publisher: DesiredStatePublisher,
    private readonly announcer: SandboxAnnouncer,
    private readonly mover: SandboxMover,
    private readonly migrator: SandboxMigrator,
  ) {}

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
      if (!isVisible(principal, sandbox)) return undefined;
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
          return move ? { sandbox, changed: true, move } : { sandbox: await this.lookup.get(principal, id, manager), changed: false };
        }
      }
      const now = new Date();
      await this.rows.storeHibernation(manager, id, hibernated, now);
      return { sandbox: Object.assign(sandbox, { desiredHibernated: hibernated, updatedAt: now }), changed: true };
    });
    if (!found) throw await this.lookup.missing(principal, id);
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
      const sandbox = await this.lookup.get(principal, id, manager);
      const migration = await this.migrator.begin(manager, sandbox, nodeId);
      // A concurrent request started a move first: this one changes nothing.
      return migration ? { sandbox, migration } : { sandbox: await this.lookup.get(principal, id, manager), migration: undefined };
    });
    if (migration) {
      this.announcer.updated(sandbox);
      await this.publisher.nodesChanged([migration.from, migration.to]);
      void this.migrator.run(migration, principal);
    }
    return sandbox;
  }
}
