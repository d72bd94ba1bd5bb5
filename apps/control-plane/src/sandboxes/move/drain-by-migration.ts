import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { ErrorInfo } from '@moat/proto';
import { ADMIN } from '../../auth/principal';
import { Transactions } from '../../database/transactions.service';
import { DesiredStatePublisher } from '../../fleet/desired-state.publisher';
import { NodeLifecycleHooks } from '../../nodes/node-lifecycle.hooks';
import { SandboxAnnouncer } from '../announce/sandbox.announcer';
import { appendEvent, EventReason } from '../model/sandbox-events';
import { SandboxEntity } from '../model/sandbox.entity';
import { SandboxesRepository } from '../model/sandboxes.repository';
import { drainStep } from './migration-plan';
import type { Move } from './move-runner';
import { SandboxMigrator } from './sandbox-migrator';

/** How many sandboxes of a draining node are live-migrated at once (each moves its RAM and disk over the underlay). */
export const DRAIN_MIGRATIONS_AT_ONCE = 2;

/**
 * Drain by migration (`POST /v1/nodes/:id/drain {mode: "migrate"}`): every running sandbox of
 * the node that can live-migrate does, to where the scheduler places it, a few at a time; the
 * others are handled as any drain handles them (see drainStep). Each gets an event saying
 * which: DRAIN_MIGRATED, or DRAIN_FALLBACK with the reason.
 */
@Injectable()
export class DrainByMigration implements OnModuleInit {
  private readonly logger = new Logger(DrainByMigration.name);

  constructor(
    private readonly hooks: NodeLifecycleHooks,
    private readonly transactions: Transactions,
    private readonly rows: SandboxesRepository,
    private readonly migrator: SandboxMigrator,
    private readonly publisher: DesiredStatePublisher,
    private readonly announcer: SandboxAnnouncer,
  ) {}

  onModuleInit(): void {
    this.hooks.register({
      nodeDraining: async (nodeId, options) => {
        if (options?.mode === 'migrate') await this.drain(nodeId);
      },
    });
  }

  /** Migrates what can migrate off the node and tells every sandbox meant to run there what happens to it; resolves once all migrations ended. */
  async drain(nodeId: string): Promise<void> {
    const sandboxes = await this.transactions.run((manager) => manager.find(SandboxEntity, { where: { nodeId, desiredState: 'running' }, order: { createdAt: 'ASC' } }));
    const migrating: string[] = [];
    for (const sandbox of sandboxes) {
      const step = drainStep(sandbox);
      if (step.kind === 'migrate') migrating.push(sandbox.id);
      else await this.tell(sandbox.id, step.reason);
    }
    this.logger.log({ nodeId, migrating: migrating.length, fallback: sandboxes.length - migrating.length }, 'draining node by migration');
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < migrating.length) await this.migrate(nodeId, migrating[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(DRAIN_MIGRATIONS_AT_ONCE, migrating.length) }, worker));
  }

  /** Migrates one sandbox off the draining node, or tells it why it stays (nothing fits it, or it changed meanwhile). */
  private async migrate(nodeId: string, id: string): Promise<void> {
    let started: { migration: Move; sandbox: SandboxEntity } | undefined;
    try {
      started = await this.transactions.run(async (manager) => {
        const sandbox = await manager.findOneBy(SandboxEntity, { id, nodeId, desiredState: 'running' });
        if (!sandbox || drainStep(sandbox).kind !== 'migrate') return undefined;
        const migration = await this.migrator.begin(manager, sandbox, undefined, (to) => ({
          code: EventReason.DRAIN_MIGRATED,
          message: `node ${nodeId} drains: migrating to node ${to} while it runs`,
        }));
        return migration && { migration, sandbox };
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await this.tell(id, { code: EventReason.DRAIN_FALLBACK, message: `${message}; it keeps running on its node until deleted` });
      return;
    }
    if (!started) return;
    this.announcer.updated(started.sandbox);
    await this.publisher.nodesChanged([started.migration.from, started.migration.to]);
    await this.migrator.run(started.migration, ADMIN);
  }

  /** Appends `reason` to the sandbox's events, in its state. */
  private async tell(id: string, reason: ErrorInfo): Promise<void> {
    try {
      const sandbox = await this.transactions.run(async (manager) => {
        const found = await manager.findOneBy(SandboxEntity, { id });
        if (!found) return undefined;
        const now = new Date();
        Object.assign(found, { events: appendEvent(found.events, found.state, now, reason), updatedAt: now });
        await this.rows.storeEvents(manager, id, found.events, now);
        return found;
      });
      if (sandbox) this.announcer.updated(sandbox);
    } catch (err) {
      this.logger.error({ err, sandboxId: id }, 'could not record what a drain does with a sandbox');
    }
  }
}
