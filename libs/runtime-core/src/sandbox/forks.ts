import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { removeTree } from '../host/fs.helpers';
import type { Hypervisor } from '../hypervisor/hypervisor';
import type { Log } from '../log/log.types';
import { BLOCK_IMAGE_FILE } from '../sharefs/block.share-fs';
import type { SandboxEntry } from './model/sandbox.entry';
import { containerIdOf, newSandboxState, savedVmFilesFor, savedVmOf, vmNotSavable, type SandboxState } from './model/sandbox.state';
import type { ForkOf, SandboxSpec } from './model/sandbox.types';
import type { ForkCapture, ForkCaptures } from './steps/fork.steps';
import type { IsolationPort } from './steps/jail.step';
import { runningVmOf } from './steps/vmm.step';

/**
 * Forks (E2B's and Fly's most asked-for feature, done as VM templating of a live VM): a running
 * `rootfs: block` sandbox is captured once per fork — paused, its VM saved as a hibernate saves
 * it, its disk copied, then it runs on — and each of the fork's clones is started from that
 * capture with an identity of its own (see `CloneDiskStep` and `IdentityStep`). Captures live
 * in `<data dir>/forks/<fork id>/` until the fork's last clone has started (or failed), and
 * none outlives a runtime: a clone that had not started by then is started again from a new one.
 */
/**
 * How long a fork's capture waits for clones that have not come (deleted before their node saw
 * them): it is removed then, and a clone that comes later is started from a new one.
 */
export const FORK_CAPTURE_TTL_MS = 10 * 60_000;

export class SandboxForks implements ForkCaptures {
  private readonly captures = new Map<string, { capture: Promise<ForkCapture>; pending: number; expiry: NodeJS.Timeout }>();
  private readonly dir: string;

  constructor(
    private readonly entries: ReadonlyMap<string, SandboxEntry>,
    private readonly hypervisor: Pick<Hypervisor, 'capture'>,
    private readonly isolation: Pick<IsolationPort, 'vmm'>,
    dataDir: string,
    private readonly log: Log,
    private readonly captureTtlMs = FORK_CAPTURE_TTL_MS,
  ) {
    this.dir = join(dataDir, 'forks');
  }

  /** Removes the captures a previous runtime left. */
  async clear(): Promise<void> {
    await removeTree(this.dir);
  }

  /**
   * A clone's state: its source's guest as it is (its container, process, created sandbox and
   * container), under the clone's own id, paths and spec; nothing of the host's yet. A source
   * not running here gives a bare state, whose fork step then fails with the reason.
   */
  cloneState(spec: SandboxSpec, fresh: Pick<SandboxState, 'accel' | 'transport' | 'sharedFsKind' | 'paths'>): SandboxState {
    const source = spec.forkOf && this.entries.get(spec.forkOf.sandboxId)?.state;
    if (!source) return newSandboxState(spec, fresh);
    const state = newSandboxState(spec, { ...fresh, transport: source.transport, sharedFsKind: source.sharedFsKind });
    return {
      ...state,
      ...(source.restored && { restored: true }),
      ...(source.guest && { guest: { ...source.guest } }),
      ...(source.process && { process: structuredClone(source.process) }),
      ...(source.manifestDigest && { manifestDigest: source.manifestDigest }),
      sandboxCreated: source.sandboxCreated,
      containerCreated: source.containerCreated,
      guestContainerId: containerIdOf(source),
    };
  }

  /** The fork's capture of its running source: made by the first of its clones to ask, shared by the others. */
  capture(fork: ForkOf): Promise<ForkCapture> {
    let held = this.captures.get(fork.forkId);
    if (!held) {
      const expiry = setTimeout(() => void this.drop(fork.forkId), this.captureTtlMs).unref();
      held = { capture: this.take(fork), pending: fork.count, expiry };
      this.captures.set(fork.forkId, held);
    }
    return held.capture;
  }

  /** One clone of the fork has started or failed: the fork's last one removes its capture. */
  async done(fork: ForkOf): Promise<void> {
    const held = this.captures.get(fork.forkId);
    if (!held || --held.pending > 0) return;
    await this.drop(fork.forkId);
  }

  /** Removes the fork's capture; after a restart `clear` does it for all. */
  private async drop(forkId: string): Promise<void> {
    const held = this.captures.get(forkId);
    if (held) clearTimeout(held.expiry);
    this.captures.delete(forkId);
    // A capture still being taken is removed once it is done (or failed).
    await held?.capture.catch(() => undefined);
    await removeTree(join(this.dir, forkId)).catch((error: unknown) => this.log('warn', "removing a fork's capture failed", { forkId, error: describeError(error) }));
  }

  private async take(fork: ForkOf): Promise<ForkCapture> {
    const source = this.entries.get(fork.sandboxId);
    const fail = (why: string) => new RuntimeError(RuntimeErrorCode.FORK_FAILED, `sandbox ${fork.sandboxId} cannot be forked: ${why}`, { context: { sandboxId: fork.sandboxId } });
    if (!source) throw fail('it is not on this node');
    const { state } = source;
    const unsupported = vmNotSavable(state);
    if (unsupported) throw fail(unsupported);
    const disk = state.sharedFs?.attachment.kind === 'block' ? state.sharedFs.attachment.imagePath : undefined;
    if (source.phase !== 'running' || state.vmmPid === undefined || disk === undefined) throw fail(`it is ${source.phase}`);
    const dir = join(this.dir, fork.forkId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const capture: ForkCapture = { ...savedVmFilesFor(state, dir, 'vm'), disk: join(dir, BLOCK_IMAGE_FILE) };
    const started = performance.now();
    await this.hypervisor.capture(
      runningVmOf(state, state.vmmPid, this.isolation),
      savedVmOf(capture),
      { from: disk, to: capture.disk },
    );
    this.log('info', 'sandbox captured for a fork', { sandboxId: fork.sandboxId, forkId: fork.forkId, clones: fork.count, pausedMs: Math.round(performance.now() - started) });
    return capture;
  }
}
