import { RuntimeErrorCode } from '../../errors/runtime.errors';
import type { SharedFs, SharedFsKind } from '../../sharefs/shared-fs';
import type { IsolationPort } from './jail.step';
import type { StartStep, StepContext } from './start-step';

/** How the rootfs reaches the guest: virtiofsd started, a 9p share named, or an ext4 disk built. */
export class SharefsStep implements StartStep {
  readonly phase = 'sharefs' as const;
  readonly failureCode = RuntimeErrorCode.SHAREFS_FAILED;

  constructor(
    private readonly sharedFs: (kind: SharedFsKind) => SharedFs,
    private readonly isolation: Pick<IsolationPort, 'enter'>,
  ) {}

  async acquire(ctx: StepContext): Promise<void> {
    const { state } = ctx.entry;
    const { paths } = state;
    const fences = state.isolation;
    state.sharedFs = await this.sharedFs(state.sharedFsKind).start({
      sandboxId: state.spec.id,
      sharedDir: paths.sharedDir,
      socketDir: paths.socketDir,
      ...(fences?.uid !== undefined && { vmmUid: fences.uid }),
      enterCgroup: (pid) => (fences ? this.isolation.enter(fences, pid) : Promise.resolve()),
      logDir: paths.sandboxDir,
      rootfsDir: paths.rootfsDir,
      diskDir: paths.sandboxDir,
    });
    await ctx.save();
  }

  async release(ctx: StepContext): Promise<void> {
    const { state } = ctx.entry;
    const handle = state.sharedFs;
    // A start killed after its daemon was spawned but before the handle was saved left one no
    // handle records.
    if (!handle) return this.sharedFs(state.sharedFsKind).reapStray(state.paths.socketDir);
    await this.sharedFs(handle.kind).stop(handle, state.spec.id);
    state.sharedFs = undefined;
  }
}
