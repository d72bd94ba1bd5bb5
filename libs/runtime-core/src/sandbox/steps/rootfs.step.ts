import { RuntimeErrorCode } from '../../errors/runtime.errors';
import type { RootfsProvider } from '../../rootfs/sandbox.rootfs';
import { unbindPodContainer } from '../pod/pod-containers';
import { persistBeforeAcquiring, type StartStep, type StepContext } from './start-step';

/** Pull progress is reported at most this often (and once more when it completes). */
const PROGRESS_INTERVAL_MS = 500;

/**
 * The container rootfs: the busybox tree, the image's layers pulled and overlaid, or a bundle's
 * rootfs; for a pod's VM its shared dir first becomes a shared mount, and on release the rootfses
 * of the containers added to the pod go too.
 */
export class RootfsStep implements StartStep {
  readonly phase = 'rootfs' as const;
  readonly failureCode = RuntimeErrorCode.ROOTFS_FAILED;

  constructor(private readonly rootfs: RootfsProvider) {}

  async acquire(ctx: StepContext): Promise<void> {
    const { entry } = ctx;
    const { spec, paths } = entry.state;
    await persistBeforeAcquiring(ctx);
    if (spec.pod) {
      entry.state.podShare = true;
      await ctx.save();
      await this.rootfs.sharePodDir(paths.sharedDir);
    }
    let reported = 0;
    const prepared = await this.rootfs.prepare({
      sandboxId: spec.id,
      image: spec.image,
      bundle: spec.bundle,
      command: spec.command,
      rootfsDir: paths.rootfsDir,
      scratchDir: paths.sandboxDir,
      onProgress: ({ bytesDone, bytesTotal }) => {
        entry.progress = { phase: 'pull', bytesDone, bytesTotal };
        if (bytesDone < bytesTotal && Date.now() - reported < PROGRESS_INTERVAL_MS) return;
        reported = Date.now();
        ctx.notify();
      },
    });
    entry.progress = undefined;
    entry.state.process = prepared.process;
    if (prepared.manifestDigest) entry.state.manifestDigest = prepared.manifestDigest;
  }

  async release(ctx: StepContext): Promise<void> {
    const { state } = ctx.entry;
    for (const [id, container] of Object.entries(state.podContainers ?? {})) {
      await unbindPodContainer(this.rootfs, container);
      delete state.podContainers?.[id];
    }
    await this.rootfs.release(state.spec.id, state.paths.rootfsDir);
    if (state.podShare) await this.rootfs.unsharePodDir(state.paths.sharedDir);
    state.podShare = undefined;
  }
}
