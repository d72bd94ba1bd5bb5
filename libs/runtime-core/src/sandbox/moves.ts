import { readFile, rename, stat } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { describeError, RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { Log } from '../log/log.types';
import { BLOCK_IMAGE_FILE } from '../sharefs/block.share-fs';
import type { SandboxEntry } from './model/sandbox.entry';
import { newSandboxState, sandboxStateSchema, vmNotSavable, type SandboxState } from './model/sandbox.state';
import { HIBERNATED_STATE_FILE } from './hibernation';
import { removeSandboxDirs, type SandboxLifecycle } from './sandbox.lifecycle';
import { acquireSteps, persistBeforeAcquiring, type StartStep } from './steps/start-step';

/** A hibernated sandbox's files for a move to another node: names relative to `dir`. */
export interface SavedSandboxFiles {
  dir: string;
  files: string[];
}

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
    private readonly lifecycle: Pick<SandboxLifecycle, 'context' | 'release'>,
    /** Acquires the sandbox's jail on this node (the lifecycle's jail step). */
    private readonly jail: StartStep,
    private readonly fresh: (id: string) => Pick<SandboxState, 'accel' | 'paths'>,
    private readonly log: Log,
  ) {}

  /** The files of a hibernated sandbox, to send; SANDBOX_NOT_RUNNING unless it is hibernated, STATE_CORRUPT if one is missing. */
  async savedFiles(entry: SandboxEntry): Promise<SavedSandboxFiles> {
    const { state } = entry;
    const disk = state.sharedFs?.attachment.kind === 'block' ? state.sharedFs.attachment.imagePath : undefined;
    if (entry.phase !== 'hibernated' || !state.hibernation || !disk) {
      throw new RuntimeError(RuntimeErrorCode.SANDBOX_NOT_RUNNING, `sandbox ${state.spec.id} is ${entry.phase}: only a hibernated sandbox moves`, { context: { sandboxId: state.spec.id } });
    }
    const dir = state.paths.sandboxDir;
    const paths = [state.paths.stateFile, state.hibernation.stateFile, disk];
    for (const path of paths) {
      await stat(path).catch((error: unknown) => {
        throw new RuntimeError(RuntimeErrorCode.STATE_CORRUPT, `sandbox ${state.spec.id}'s saved file ${path} is missing: ${describeError(error)}`, { context: { sandboxId: state.spec.id } });
      });
    }
    return { dir, files: paths.map((file) => relative(dir, file)) };
  }

  /**
   * Takes in a hibernated sandbox whose files (as {@link savedFiles} names them) are in `dir`:
   * they are moved into its own dirs, it gets a jail here, and it is hibernated on this node.
   * A state that is not a hibernated, movable sandbox of that id, or saved under another
   * accelerator, is refused; a failure leaves nothing of it here.
   */
  async importSaved(sandboxId: string, dir: string): Promise<SandboxEntry> {
    if (this.entries.has(sandboxId)) throw refused(sandboxId, RuntimeErrorCode.INVALID_SPEC, 'a sandbox of that id is on this node already');
    const saved = await readSavedState(sandboxId, join(dir, STATE_JSON));
    const fresh = this.fresh(sandboxId);
    if (saved.accel !== fresh.accel) throw refused(sandboxId, RuntimeErrorCode.HIBERNATE_UNSUPPORTED, `it was saved under ${saved.accel} and this node runs ${fresh.accel}`);
    const state = arrivedState(saved, fresh);
    const entry: SandboxEntry = { phase: 'hibernated', state };
    const ctx = this.lifecycle.context(entry);
    try {
      await persistBeforeAcquiring(ctx);
      await acquireSteps([this.jail], ctx, (_phase, fn) => fn());
      await rename(join(dir, saved.names.vm), join(state.paths.sandboxDir, HIBERNATED_STATE_FILE));
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
    return entry;
  }
}

function refused(sandboxId: string, code: RuntimeErrorCode, why: string): RuntimeError {
  return new RuntimeError(code, `sandbox ${sandboxId} cannot be taken in: ${why}`, { context: { sandboxId } });
}

type SavedState = SandboxState & {
  hibernation: NonNullable<SandboxState['hibernation']>;
  /** Where the saved VM and the disk are among the moved files. */
  names: { vm: string; disk: string };
};

/** The moved state file, checked: a hibernated, movable sandbox of that id with its saved VM and disk among the moved files. */
async function readSavedState(sandboxId: string, file: string): Promise<SavedState> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw refused(sandboxId, RuntimeErrorCode.STATE_CORRUPT, `no state file: ${describeError(error)}`);
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw refused(sandboxId, RuntimeErrorCode.STATE_CORRUPT, 'its state file is not JSON');
  }
  const parsed = sandboxStateSchema.safeParse(json);
  if (!parsed.success) throw refused(sandboxId, RuntimeErrorCode.STATE_CORRUPT, `its state file does not parse: ${parsed.error.issues[0]?.message}`);
  const state = parsed.data;
  if (state.spec.id !== sandboxId) throw refused(sandboxId, RuntimeErrorCode.STATE_CORRUPT, `the state is sandbox ${state.spec.id}'s`);
  const { hibernation } = state;
  if (state.state !== 'hibernated' || !hibernation) throw refused(sandboxId, RuntimeErrorCode.SANDBOX_NOT_RUNNING, `it is ${state.state}, not hibernated`);
  const unsupported = vmNotSavable(state);
  if (unsupported) throw refused(sandboxId, RuntimeErrorCode.HIBERNATE_UNSUPPORTED, unsupported);
  const disk = state.sharedFs?.attachment.kind === 'block' ? state.sharedFs.attachment.imagePath : undefined;
  if (disk === undefined) throw refused(sandboxId, RuntimeErrorCode.STATE_CORRUPT, 'the state names no disk');
  // Names the source wrote: they must stay among the moved files.
  const vm = movedName(state.paths.sandboxDir, hibernation.stateFile);
  const diskName = movedName(state.paths.sandboxDir, disk);
  if (!vm || !diskName) throw refused(sandboxId, RuntimeErrorCode.STATE_CORRUPT, "the saved VM or disk lies outside the sandbox's dir");
  return { ...state, hibernation, names: { vm, disk: diskName } };
}

/** `file`'s name relative to `dir`, or undefined when it is not inside it. */
function movedName(dir: string, file: string): string | undefined {
  const name = relative(dir, file);
  return name === '' || name.startsWith('..') || isAbsolute(name) ? undefined : name;
}

/**
 * The sandbox as this node holds it: its guest as saved (container, process, NIC's MAC and
 * address), under this node's dirs, with the saved VM and disk in its own dir and nothing of
 * the source host's (jail, cgroup, VMM, network plumbing).
 */
function arrivedState(saved: SavedState, fresh: Pick<SandboxState, 'accel' | 'paths'>): SandboxState {
  const { paths } = fresh;
  const state = newSandboxState(saved.spec, { accel: fresh.accel, transport: saved.transport, sharedFsKind: saved.sharedFsKind, paths });
  return {
    ...state,
    state: 'hibernated',
    ...(saved.restored && { restored: true }),
    ...(saved.guest && { guest: saved.guest }),
    ...(saved.process && { process: saved.process }),
    ...(saved.manifestDigest && { manifestDigest: saved.manifestDigest }),
    ...(saved.guestContainerId && { guestContainerId: saved.guestContainerId }),
    sandboxCreated: saved.sandboxCreated,
    containerCreated: saved.containerCreated,
    sharedFs: { kind: 'block', attachment: { kind: 'block', imagePath: join(paths.sandboxDir, BLOCK_IMAGE_FILE) } },
    hibernation: { ...saved.hibernation, stateFile: join(paths.sandboxDir, HIBERNATED_STATE_FILE) },
  };
}
