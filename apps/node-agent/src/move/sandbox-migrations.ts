import type { TLSSocket } from 'node:tls';
import type { SandboxMigrateIn, SandboxMigrateOut, SandboxMigrateOutReply, SandboxReceiveReply } from '@moat/proto';
import type { MoveDepartures } from './move-departures';
import type { MoveKindOptions } from './move-sessions';
import type { MigrationPort } from './move.port';
import { migrateOver, receiveMigration } from './migration-protocol';

export interface SandboxMigrationsOptions extends MoveKindOptions {
  runtime: MigrationPort;
  departures: MoveDepartures;
}

/**
 * This node's side of a live migration, as the control plane arranges it: `migrateIn` (the
 * target) opens a port for the migration and runs the VM the source streams to it;
 * `migrateOut` (the source) connects to it and streams the running VM, and lets go of the
 * sandbox once the target says it runs it.
 */
export class SandboxMigrations {
  constructor(private readonly opts: SandboxMigrationsOptions) {}

  /** Opens the migration's port and answers where it is; the VM is taken in after the answer. */
  async migrateIn(req: SandboxMigrateIn): Promise<SandboxReceiveReply> {
    const to = await this.opts.sessions.listen(req, (accepted) => this.runHere(req, accepted));
    this.opts.log.info({ moveId: req.moveId, sandboxId: req.sandboxId, ...to }, 'waiting for a sandbox migrating from another node');
    return to;
  }

  /** Streams the running sandbox to the target's port; resolves with the migration's figures once the target runs it. */
  async migrateOut(req: SandboxMigrateOut): Promise<SandboxMigrateOutReply> {
    const { runtime, departures } = this.opts;
    const { sandboxId } = req;
    const log = this.opts.log.child({ moveId: req.moveId, sandboxId });
    return this.opts.sessions.leave(req, async (dial) => {
      const departure = await runtime.departure(sandboxId);
      const socket = await dial();
      log.info({ to: req.to, diskBytes: departure.diskBytes }, 'migrating sandbox to another node');
      try {
        const migration = await migrateOver(
          socket,
          departure,
          // Recorded before the runtime lets go of it, so the reconciler never finds it desired, absent and unrecorded.
          (sink, ran) => runtime.migrateOut(sandboxId, sink, () => ran().then(() => departures.record(sandboxId))),
          { timeoutMs: this.opts.transferTimeoutMs },
        );
        log.info(migration, 'sandbox migrated; the other node runs it');
        return migration;
      } catch (err) {
        log.warn({ err }, 'sandbox not migrated; it runs on here');
        throw err;
      }
    });
  }

  private async runHere(req: SandboxMigrateIn, accepted: Promise<TLSSocket>): Promise<void> {
    const { moveId, sandboxId } = req;
    const { runtime, arrivals, log } = this.opts;
    try {
      const socket = await accepted;
      await receiveMigration(
        socket,
        {
          run: async (departure, stream) => {
            await arrivals.arriving(sandboxId, () => runtime.migrateIn(sandboxId, departure, stream));
          },
          // It must not run in two places: the source resumes it when it does not hear that it runs here.
          undo: async (reason) => {
            log.warn({ moveId, sandboxId, reason: reason.message }, 'the migrated sandbox runs here but its source never heard so; deleting it here');
            await runtime.delete(sandboxId).finally(() => arrivals.forget(sandboxId));
          },
        },
        { timeoutMs: this.opts.transferTimeoutMs },
      );
      log.info({ moveId, sandboxId }, 'sandbox migrated in from another node');
    } catch (err) {
      log.warn({ err, moveId, sandboxId }, 'sandbox migrating from another node not taken in');
    }
  }
}
