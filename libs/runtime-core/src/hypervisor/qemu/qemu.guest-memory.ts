import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RuntimeError, type RuntimeErrorCode } from '../../errors/runtime.errors';
import { fsyncPath, removeTree } from '../../host/fs.helpers';
import { copySparse, type ProcessAdapter } from '../../host/process.adapter';
import type { VmPaths } from '../hypervisor';
import { guestMemoryPath } from './qemu.machine';

/*
 * A VM's RAM file (`paths.guestMemory`, on tmpfs): the guest's memory of a VM restored from a
 * boot snapshot or woken from a saved state whose RAM lies beside it. Copies skip zero pages
 * (`cp --sparse=always`), so they cost what the guest used, not what it was given.
 */

/** The RAM file of a VM whose memory a saved state fills: empty (QEMU sizes it), so it can be bound into a jail. */
export async function createGuestMemory(paths: VmPaths): Promise<void> {
  const memory = guestMemoryPath(paths);
  await mkdir(dirname(memory), { recursive: true, mode: 0o700 });
  await writeFile(memory, '', { mode: 0o600 });
}

/** Fills the RAM file of a VM about to start from `from` (a boot snapshot's or a saved VM's RAM); a failure is `code` with `context`. */
export async function fillGuestMemory(proc: ProcessAdapter, from: string, paths: VmPaths, code: RuntimeErrorCode, context: Record<string, unknown>): Promise<void> {
  const memory = guestMemoryPath(paths);
  try {
    await mkdir(dirname(memory), { recursive: true, mode: 0o700 });
    await copySparse(proc, from, memory);
  } catch (cause) {
    await removeTree(memory);
    throw new RuntimeError(code, `copy the saved memory ${from} to ${memory}`, { cause, context });
  }
}

/** The paused VM's RAM file, copied to `to` and synced: the saved state is vouched for after. */
export async function saveGuestMemory(proc: ProcessAdapter, paths: VmPaths, to: string): Promise<void> {
  await copySparse(proc, guestMemoryPath(paths), to);
  await fsyncPath(to);
}

export async function removeGuestMemory(paths: VmPaths): Promise<void> {
  if (paths.guestMemory !== undefined) await removeTree(paths.guestMemory);
}
