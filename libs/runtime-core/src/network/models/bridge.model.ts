import type { NetAdapter } from '../../host/net.adapter';
import type { TunAdapter } from '../../host/tun.adapter';
import { NetworkErrorCode, withNetworkError } from '../../errors/network.errors';
import { sandboxTapName, withTap, type NetworkModel, type PlumbContext, type PlumbedNic } from './network-model';

/**
 * No veth and no netns: the VM's tap is created on the host and enslaved to the tenant bridge,
 * so a frame crosses one device fewer. CNI runs in ipam-only mode for the address (same
 * host-local pool) and the chained plugins (portmap).
 */
export class BridgeModel implements NetworkModel {
  readonly kind = 'bridge' as const;
  readonly cniMode = 'ipam-only' as const;

  constructor(
    private readonly net: NetAdapter,
    private readonly tun: TunAdapter,
  ) {}

  plumb(ctx: PlumbContext): Promise<PlumbedNic> {
    const tap = sandboxTapName(ctx.sandboxId);
    return withTap(this.tun, tap, async (fd) => {
      await withNetworkError(NetworkErrorCode.LINK_FAILED, `tap ${tap} on ${ctx.bridge}`, () => this.net.ipBatch([`link set dev ${tap} master ${ctx.bridge} up`]));
      return { fd, bridgePort: tap };
    });
  }

  /** The tap goes with its last descriptor (the VMM's); one a crash left open elsewhere is deleted. */
  async unplumb(ctx: PlumbContext): Promise<void> {
    await this.net.ip(['link', 'del', sandboxTapName(ctx.sandboxId)]).catch((error: unknown) => {
      // Already gone is the goal.
      if (!String(error).includes('Cannot find device')) throw error;
    });
  }
}
