import type { Readable, Writable } from 'node:stream';
import type { LiveDeparture, LiveMigration, SandboxInfo, SavedSandboxFiles } from '@moat/runtime-core';

/** The part of the runtime a move drives (`SandboxRuntime.moves`; a fake implements it in unit tests). */
export interface MovePort {
  /** The hibernated sandbox's files that carry it (names relative to `dir`); SANDBOX_NOT_FOUND or SANDBOX_NOT_RUNNING when it is not hibernated here. */
  savedFiles(sandboxId: string): Promise<SavedSandboxFiles>;
  /** Takes the files unpacked in `dir` (moving them) in as a hibernated sandbox. */
  importSaved(sandboxId: string, dir: string): Promise<unknown>;
}

/** The part of the runtime a live migration drives (`SandboxRuntime.liveMigration` and `delete`; a fake implements it in unit tests). */
export interface MigrationPort {
  /** What the target must know first; SANDBOX_NOT_RUNNING or HIBERNATE_UNSUPPORTED when the sandbox cannot migrate. */
  departure(sandboxId: string): Promise<LiveDeparture>;
  /** Streams the running VM into `sink`, then awaits `ran`: resolved, it lets go of the sandbox here; rejected, the VM runs on here and it throws MIGRATION_FAILED. */
  migrateOut(sandboxId: string, sink: Writable, ran: () => Promise<void>): Promise<LiveMigration>;
  /** Runs the VM streamed from `source`; resolves once it runs here, throws MIGRATION_FAILED after releasing everything. */
  migrateIn(sandboxId: string, departure: LiveDeparture, source: Readable): Promise<SandboxInfo>;
  /** Deletes a sandbox from this node, everything it holds with it. */
  delete(sandboxId: string): Promise<void>;
}
