import { join } from 'node:path';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import { GUEST_IFNAME, guestRequests } from '../../network/sandbox-networks';
import { BLOCK_IMAGE_FILE } from '../../sharefs/block.share-fs';
import type { ForkOf } from '../model/sandbox.types';
import { hostnameOf } from '../model/sandbox-spec';
import type { StartStep, StepContext } from './start-step';

/** A running sandbox captured for a fork: its VM's state and a copy of its disk from the same instant. */
export interface ForkCapture {
  stateFile: string;
  /** The source's RAM beside its state, when its RAM is a file (a restored VM's). */
  memoryFile?: string;
  disk: string;
}

/** Where a clone gets its fork's capture (see sandbox/forks). */
export interface ForkCaptures {
  capture(fork: ForkOf): Promise<ForkCapture>;
}

/**
 * A clone's disk and VM state: its fork's capture (made now if it is the first clone), the
 * disk copied into the clone's own dir as its block rootfs, and the state file the wake step
 * starts its VM from. The shared-fs step releases the disk, as any block rootfs.
 */
export class CloneDiskStep implements StartStep {
  readonly phase = 'fork' as const;
  readonly failureCode = RuntimeErrorCode.FORK_FAILED;

  constructor(
    private readonly forks: ForkCaptures,
    private readonly copyDisk: (from: string, to: string) => Promise<void>,
  ) {}

  async acquire(ctx: StepContext): Promise<void> {
    const { state } = ctx.entry;
    const fork = state.spec.forkOf;
    if (!fork) throw new RuntimeError(RuntimeErrorCode.FORK_FAILED, 'not a clone');
    const capture = await this.forks.capture(fork);
    const imagePath = join(state.paths.sandboxDir, BLOCK_IMAGE_FILE);
    // Recorded first: a crash while copying leaves a disk the release removes.
    state.sharedFs = { kind: 'block', attachment: { kind: 'block', imagePath } };
    await ctx.save();
    await this.copyDisk(capture.disk, imagePath);
    state.fork = { stateFile: capture.stateFile, ...(capture.memoryFile !== undefined && { memoryFile: capture.memoryFile }) };
    await ctx.save();
  }

  /** Started: the capture is its fork's, not the clone's. */
  settle(ctx: StepContext): void {
    ctx.entry.state.fork = undefined;
  }

  release(ctx: StepContext): Promise<void> {
    ctx.entry.state.fork = undefined;
    return Promise.resolve();
  }
}

/**
 * A clone's own identity in its guest, which is its source's copied: its NIC takes the clone's
 * MAC and addresses (CNI's for this clone), and the guest and its containers its hostname. Its
 * RNG was reseeded by the VM generation id's change when its VM was started from the capture.
 */
export class IdentityStep implements StartStep {
  readonly phase = 'identity' as const;
  readonly failureCode = RuntimeErrorCode.FORK_FAILED;

  applies(ctx: StepContext): boolean {
    return ctx.entry.state.spec.forkOf !== undefined;
  }

  async acquire(ctx: StepContext): Promise<void> {
    const { entry } = ctx;
    const agent = entry.agent;
    if (!agent) throw new RuntimeError(RuntimeErrorCode.AGENT_UNREACHABLE, 'the guest agent is not connected');
    const guest = entry.state.network?.guest;
    if (guest) {
      const { iface, routes } = guestRequests(guest);
      // The guest's NIC still has its source's MAC: it is found by name and given the clone's.
      await agent.updateInterface({ ...iface, device: GUEST_IFNAME });
      await agent.updateRoutes(routes);
    }
    await agent.updateHostname(hostnameOf(entry.state.spec));
  }
}
