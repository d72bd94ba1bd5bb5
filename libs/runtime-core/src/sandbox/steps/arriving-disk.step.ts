import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import { BLOCK_IMAGE_FILE } from '../../sharefs/block.share-fs';
import type { StartStep, StepContext } from './start-step';

/**
 * The disk a live migration fills (QEMU's block migration writes into it): an empty sparse file
 * of the source disk's size, in the sandbox's dir as any block rootfs, so the shared-fs release
 * removes it.
 */
export class ArrivingDiskStep implements StartStep {
  readonly phase = 'sharefs' as const;
  readonly failureCode = RuntimeErrorCode.MIGRATION_FAILED;

  async acquire(ctx: StepContext): Promise<void> {
    const { state } = ctx.entry;
    const bytes = state.arriving?.diskBytes;
    if (bytes === undefined) throw new RuntimeError(RuntimeErrorCode.MIGRATION_FAILED, 'no disk size for the arriving sandbox');
    const imagePath = join(state.paths.sandboxDir, BLOCK_IMAGE_FILE);
    state.sharedFs = { kind: 'block', attachment: { kind: 'block', imagePath } };
    await ctx.save();
    const handle = await open(imagePath, 'w', 0o600);
    try {
      await handle.truncate(bytes);
    } finally {
      await handle.close();
    }
  }
}
