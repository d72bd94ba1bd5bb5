import type { SavedSandboxFiles } from '@moat/runtime-core';

/** The part of the runtime a move drives (`SandboxRuntime.moves`; a fake implements it in unit tests). */
export interface MovePort {
  /** The hibernated sandbox's files that carry it (names relative to `dir`); SANDBOX_NOT_FOUND or SANDBOX_NOT_RUNNING when it is not hibernated here. */
  savedFiles(sandboxId: string): Promise<SavedSandboxFiles>;
  /** Takes the files unpacked in `dir` (moving them) in as a hibernated sandbox. */
  importSaved(sandboxId: string, dir: string): Promise<unknown>;
}
