import { RuntimeErrorCode } from '../../errors/runtime.errors';
import type { Hypervisor } from '../../hypervisor/hypervisor';
import type { HostIsolation } from '../../jail/isolation';
import { guestMemoryMiB } from '../model/sandbox-spec';
import { vmIdOf } from '../model/sandbox.state';
import type { StartStep, StepContext } from './start-step';

/** The part of HostIsolation the runtime uses (a fake implements it in unit tests). */
export type IsolationPort = Pick<HostIsolation, 'jailed' | 'acquire' | 'release' | 'vmm' | 'enter' | 'oomKills'>;

/** The sandbox's fences on the host: its jail uid, its VMM's socket dir and its host cgroup. */
export class JailStep implements StartStep {
  readonly phase = 'jail' as const;
  readonly failureCode = RuntimeErrorCode.JAIL_FAILED;

  constructor(
    private readonly isolation: IsolationPort,
    private readonly hypervisor: Pick<Hypervisor, 'memoryOverheadMiB'>,
  ) {}

  /** A warm-pool VM comes with its jail. */
  applies(ctx: StepContext): boolean {
    return ctx.entry.state.isolation === undefined;
  }

  async acquire(ctx: StepContext): Promise<void> {
    const { state } = ctx.entry;
    const size = { vcpus: state.spec.vcpus, memoryMiB: guestMemoryMiB(state.spec), overheadMiB: this.hypervisor.memoryOverheadMiB(state.accel) };
    state.isolation = await this.isolation.acquire(vmIdOf(state), state.paths.socketDir, size, (progress) => {
      state.isolation = progress;
      return ctx.save();
    });
  }

  async release(ctx: StepContext): Promise<void> {
    const { state } = ctx.entry;
    if (!state.isolation) return;
    await this.isolation.release(vmIdOf(state), state.isolation);
    state.isolation = undefined;
  }
}
