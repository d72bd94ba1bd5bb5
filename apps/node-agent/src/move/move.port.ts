import type { SandboxRuntime } from '@moat/runtime-core';

/**
 * The part of the runtime a move drives (a fake implements it in unit tests):
 * - `savedFiles`: the hibernated sandbox's files that carry it (names relative to `dir`);
 *   SANDBOX_NOT_FOUND or SANDBOX_NOT_RUNNING when it is not hibernated here.
 * - `importSaved`: takes the files unpacked in `dir` (moving them) in as a hibernated sandbox.
 */
export type MovePort = Pick<SandboxRuntime, 'savedFiles' | 'importSaved'>;
