import { readFile, rename, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { describeError, RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { Log } from '../log/log.types';
import { BLOCK_IMAGE_FILE } from '../sharefs/block.share-fs';
import { infoOf, type SandboxEntry } from './model/sandbox.entry';
import type { SandboxInfo } from './model/sandbox.types';
import type { SandboxAccess } from './sandbox.access';
import { newSandboxState, sandboxStateSchema, savedVmFilesFor, vmNotSavable, type SandboxState } from './model/sandbox.state';
import { HIBERNATED_VM } from './hibernation';
import { removeSandboxDirs, type SandboxLifecycle } from './sandbox.lifecycle';
import { acquireSteps, persistBeforeAcquiring, type StartStep } from './steps/start-step';

/** A hibernated sandbox's files for a move to another node: names relative to `dir`. */
export interface SavedSandboxFiles {
  dir: string;
  files: string[];
}

/**
 * Where a sandbox arriving from another node runs here: this node's accelerator, and a VM id of
 * its own that names its dirs, VMM, jail and cgroup — never the source's, which may still hold
 * them on the same host (nodes sharing one machine, as `npm start -- --nodes N` runs them).
 */
export type ArrivalVm = Pick<SandboxState, 'accel' | 'paths'> & { vmId: string };

/** The state file's name in a moved sandbox's files (its own name on the source). */
const STATE_JSON = 'state.json';

/**
 * Moving a hibernated sandbox between nodes, the runtime's part (the node agents carry the
 * files): on the source, the files that make it up — its state, its saved VM and its disk; on
 * the target, those files taken in as a hibernated sandbox of this node, with its own dirs and
 * jail, ready for a wake. Nothing of the source's host (paths, uid, cgroup) survives the move.
 */
export class SandboxMoves {
  constructor(
    private readonly entries: Map<string, SandboxEntry>,
    private readonly access: Pick<SandboxAccess, 'known'>,
    private readonly lifecycle: Pick<SandboxLifecycle, 'context' | 'release'>,
    /** What a hibernated sandbox acquires as it arrives (the lifecycle's `arrival.saved`: its jail). */
    private readonly arriveSteps: readonly StartStep[],
    private readonly fresh: () => ArrivalVm,
    private readonly log: Log,
  ) {}

  /** The files of a hibernated sandbox, to send; SANDBOX_NOT_RUNNING unless it is hibernated, STATE_CORRUPT if one is missing. */
  async savedFiles(id: string): Promise<SavedSandboxFiles> {
    const entry = this.access.known(id);
    const { state } = entry;
    const disk = state.sharedFs?.attachment.kind === 'block' ? state.sharedFs.attachment.imagePath : undefined;
    if (entry.phase !== 'hibernated' || !state.hibernation || !disk) {
      throw new RuntimeError(RuntimeErrorCode.SANDBOX_NOT_RUNNING, `sandbox ${state.spec.id} is ${entry.phase}: only a hibernated sandbox moves`, { context: { sandboxId: state.spec.id } });
    }
    const dir = state.paths.sandboxDir;
    const { stateFile, memoryFile } = state.hibernation;
    const paths = [state.paths.stateFile, stateFile, ...(memoryFile === undefined ? [] : [memoryFile]), disk];
    for (const path of paths) await statOwnFile(state.spec.id, path);
    return { dir, files: paths.map((file) => relative(dir, file)) };
  }

  /**
   * Takes in a hibernated sandbox whose files (as {@link savedFiles} names them) are in `dir`:
   * they are moved into its own dirs, it gets a jail here, and it is hibernated on this node.
   * A state that is not a hibernated, movable sandbox of that id, or saved under another
   * accelerator, is refused; a failure leaves nothing of it here.
   */
  async importSaved(sandboxId: string, dir: string): Promise<SandboxInfo> {
    if (this.entries.has(sandboxId)) throw refused(sandboxId, RuntimeErrorCode.INVALID_SPEC, 'a sandbox of that id is on this node already');
    const saved = savedNames(sandboxId, parseMovedState(sandboxId, await readStateFile(sandboxId, join(dir, STATE_JSON)), 'hibernated'));
    const fresh = this.fresh();
    if (saved.accel !== fresh.accel) throw refused(sandboxId, RuntimeErrorCode.HIBERNATE_UNSUPPORTED, `it was saved under ${saved.accel} and this node runs ${fresh.accel}`);
    const { paths } = fresh;
    const files = savedVmFilesFor(saved, paths.sandboxDir, HIBERNATED_VM);
    // Its RAM is beside its state here if it was at its source.
    const hibernation = { ...saved.hibernation, stateFile: files.stateFile, memoryFile: saved.names.memory === undefined ? undefined : files.memoryFile };
    const state: SandboxState = {
      ...arrivedState(saved, fresh),
      state: 'hibernated',
      sharedFs: { kind: 'block', attachment: { kind: 'block', imagePath: join(paths.sandboxDir, BLOCK_IMAGE_FILE) } },
      hibernation,
    };
    const entry: SandboxEntry = { phase: 'hibernated', state };
    const ctx = this.lifecycle.context(entry);
    try {
      await persistBeforeAcquiring(ctx);
      await acquireSteps(this.arriveSteps, ctx, (_phase, fn) => fn());
      await rename(join(dir, saved.names.vm), hibernation.stateFile);
      if (saved.names.memory !== undefined && hibernation.memoryFile !== undefined) await rename(join(dir, saved.names.memory), hibernation.memoryFile);
      await rename(join(dir, saved.names.disk), join(state.paths.sandboxDir, BLOCK_IMAGE_FILE));
      await ctx.save();
    } catch (error) {
      await this.lifecycle.release(entry).catch((releaseError: unknown) =>
        this.log('error', 'releasing a sandbox that could not be taken in left something behind', { sandboxId, error: describeError(releaseError) }),
      );
      await removeSandboxDirs(state.paths);
      throw error instanceof RuntimeError ? error : refused(sandboxId, RuntimeErrorCode.HIBERNATE_FAILED, describeError(error));
    }
    this.entries.set(sandboxId, entry);
    this.log('info', 'hibernated sandbox taken in from another node', { sandboxId, savedBytes: state.hibernation?.savedBytes });
    return infoOf(entry);
  }
}

/** A file a sandbox cannot do without (its disk, its saved VM): STATE_CORRUPT when it is missing. */
export function statOwnFile(sandboxId: string, path: string): Promise<Stats> {
  return stat(path).catch((error: unknown) => {
    throw new RuntimeError(RuntimeErrorCode.STATE_CORRUPT, `sandbox ${sandboxId}'s file ${path} is missing: ${describeError(error)}`, { context: { sandboxId } });
  });
}

function refused(sandboxId: string, code: RuntimeErrorCode, why: string): RuntimeError {
  return new RuntimeError(code, `sandbox ${sandboxId} cannot be taken in: ${why}`, { context: { sandboxId } });
}

type SavedState = SandboxState & {
  hibernation: NonNullable<SandboxState['hibernation']>;
  /** Where the saved VM (its state, and its RAM when kept beside it) and the disk are among the moved files. */
  names: { vm: string; memory?: string; disk: string };
};

async function readStateFile(sandboxId: string, file: string): Promise<string> {
  return readFile(file, 'utf8').catch((error: unknown) => {
    throw refused(sandboxId, RuntimeErrorCode.STATE_CORRUPT, `no state file: ${describeError(error)}`);
  });
}

/**
 * A moved sandbox's state (its source's `state.json`), checked: a sandbox of that id, in
 * `expected` state (hibernated, or running for a live migration), whose VM can be saved.
 */
export function parseMovedState(sandboxId: string, text: string, expected: 'hibernated' | 'running'): SandboxState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw refused(sandboxId, RuntimeErrorCode.STATE_CORRUPT, 'its state is not JSON');
  }
  const parsed = sandboxStateSchema.safeParse(json);
  if (!parsed.success) throw refused(sandboxId, RuntimeErrorCode.STATE_CORRUPT, `its state does not parse: ${parsed.error.issues[0]?.message}`);
  const state = parsed.data;
  if (state.spec.id !== sandboxId) throw refused(sandboxId, RuntimeErrorCode.STATE_CORRUPT, `the state is sandbox ${state.spec.id}'s`);
  if (state.state !== expected) throw refused(sandboxId, RuntimeErrorCode.SANDBOX_NOT_RUNNING, `it is ${state.state}, not ${expected}`);
  const unsupported = vmNotSavable(state);
  if (unsupported) throw refused(sandboxId, RuntimeErrorCode.HIBERNATE_UNSUPPORTED, unsupported);
  return state;
}

/** A hibernated state's saved VM and disk, which must be among the moved files. */
function savedNames(sandboxId: string, state: SandboxState): SavedState {
  const { hibernation } = state;
  const disk = state.sharedFs?.attachment.kind === 'block' ? state.sharedFs.attachment.imagePath : undefined;
  if (!hibernation || disk === undefined) throw refused(sandboxId, RuntimeErrorCode.STATE_CORRUPT, 'the state names no saved VM or no disk');
  // Names the source wrote: they must stay among the moved files.
  const vm = movedName(state.paths.sandboxDir, hibernation.stateFile);
  const memory = hibernation.memoryFile === undefined ? undefined : movedName(state.paths.sandboxDir, hibernation.memoryFile);
  const diskName = movedName(state.paths.sandboxDir, disk);
  if (!vm || !diskName || (hibernation.memoryFile !== undefined && !memory)) throw refused(sandboxId, RuntimeErrorCode.STATE_CORRUPT, "the saved VM or disk lies outside the sandbox's dir");
  // Its RAM goes back into a file: only a restored VM's RAM is one.
  if (memory !== undefined && !state.restored) throw refused(sandboxId, RuntimeErrorCode.STATE_CORRUPT, 'the saved RAM is of a VM whose RAM is no file');
  return { ...state, hibernation, names: { vm, ...(memory !== undefined && { memory }), disk: diskName } };
}

/** `file`'s name relative to `dir`, or undefined when it is not inside it. */
function movedName(dir: string, file: string): string | undefined {
  const name = relative(dir, file);
  return name === '' || name.startsWith('..') || isAbsolute(name) ? undefined : name;
}

/**
 * A moved sandbox as this node holds it: its guest as its source had it (container, process,
 * saved NIC), under this node's dirs and accelerator, with nothing of the source host's (jail,
 * cgroup, VMM, network plumbing, disk path); the caller adds what the move brought.
 */
export function arrivedState(moved: SandboxState, fresh: ArrivalVm): SandboxState {
  const state = newSandboxState(moved.spec, { accel: fresh.accel, transport: moved.transport, sharedFsKind: moved.sharedFsKind, paths: fresh.paths });
  return {
    ...state,
    vmId: fresh.vmId,
    moved: true,
    ...(moved.restored && { restored: true }),
    ...(moved.guest && { guest: moved.guest }),
    ...(moved.agentInstance && { agentInstance: moved.agentInstance }),
    ...(moved.process && { process: moved.process }),
    ...(moved.manifestDigest && { manifestDigest: moved.manifestDigest }),
    ...(moved.guestContainerId && { guestContainerId: moved.guestContainerId }),
    sandboxCreated: moved.sandboxCreated,
    containerCreated: moved.containerCreated,
  };
}
