import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import type { NetworkState } from '../../network/network.types';
import type { NetworkAttachment, SandboxNetworks } from '../../network/sandbox-networks';
import { vmIdOf } from '../model/sandbox.state';
import type { StartStep, StepContext } from './start-step';

const DEFAULT_TENANT = 'default';

/** The sandbox's place on its tenant network (netns, CNI ADD, the model's plumbing), or a pod's VM in its CRI netns. */
export class NetworkStep implements StartStep {
  readonly phase = 'network' as const;
  readonly failureCode = RuntimeErrorCode.NETWORK_FAILED;

  /** `networks` is absent on a runtime without network options: a sandbox asking for one fails. */
  constructor(
    private readonly networks: Pick<SandboxNetworks, 'attach' | 'joinPod' | 'detach' | 'releaseNicFd'> | undefined,
    /** The node's resolvers, for sandboxes that name none. */
    private readonly defaultDns: readonly string[],
  ) {}

  applies(ctx: StepContext): boolean {
    const { spec } = ctx.entry.state;
    return spec.network !== undefined || spec.pod?.netns !== undefined;
  }

  async acquire(ctx: StepContext): Promise<void> {
    const { state } = ctx.entry;
    const { spec } = state;
    const save = (progress: NetworkState) => {
      state.network = progress;
      return ctx.save();
    };
    const { network, pod } = spec;
    let attached: NetworkAttachment;
    if (pod?.netns) attached = await this.plumber().joinPod(spec.id, pod.netns, save);
    else if (network) {
      const kept = state.hibernation ?? state.arriving;
      const request = {
        // A moved sandbox's network is named by its own VM id: see NetworkState.owner.
        sandboxId: state.moved ? vmIdOf(state) : spec.id,
        tenantId: spec.tenantId ?? DEFAULT_TENANT,
        spec: network,
        runDir: state.paths.runDir,
        dnsServers: [...(spec.dns?.servers ?? this.defaultDns)],
        // A woken or migrated guest still has the NIC it was saved with.
        ...(kept && { keep: { mac: kept.mac, address: kept.address } }),
      };
      attached = await this.plumber().attach(request, save);
    } else return;
    state.network = attached.state;
    ctx.entry.nicFd = attached.nicFd;
  }

  /** The VMM holds the NIC now; the tap goes when the VMM does. */
  settle(ctx: StepContext): void {
    this.dropNicFd(ctx);
  }

  async release(ctx: StepContext): Promise<void> {
    this.dropNicFd(ctx);
    const { state } = ctx.entry;
    const network = state.network;
    if (!network) return;
    await this.plumber().detach(network.owner ?? state.spec.id, network, state.paths.runDir);
    state.network = undefined;
  }

  private dropNicFd(ctx: StepContext): void {
    if (ctx.entry.nicFd === undefined) return;
    this.networks?.releaseNicFd(ctx.entry.nicFd);
    ctx.entry.nicFd = undefined;
  }

  private plumber(): NonNullable<NetworkStep['networks']> {
    if (!this.networks) throw new RuntimeError(RuntimeErrorCode.NETWORK_FAILED, 'this node has no network configuration');
    return this.networks;
  }
}
