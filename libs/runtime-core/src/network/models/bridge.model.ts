import type { NetAdapter } from '../../host/net.adapter';
import { NetworkErrorCode, withNetworkError } from '../network.errors';
import type { VmNic } from '../network.types';
import type { NetworkModel, PlumbContext } from './network-model';

/** The host tap of a sandbox: `mt` + the first 13 hex digits of its id (link names have 15 characters). */
export function bridgeTapName(sandboxId: string): string {
  return `mt${sandboxId.replaceAll('-', '').slice(0, 13)}`;
}

/**
 * No veth and no netns: the VM's tap is created on the host and enslaved to the tenant bridge,
 * so a frame crosses one device fewer. CNI runs in ipam-only mode for the address (same
 * host-local pool) and the chained plugins (portmap); QEMU runs in the host netns.
 */
export class BridgeModel implements NetworkModel {
  readonly kind = 'bridge' as const;
  readonly cniMode = 'ipam-only' as const;

  constructor(private readonly net: NetAdapter) {}

  async plumb(ctx: PlumbContext): Promise<VmNic> {
    const tap = bridgeTapName(ctx.sandboxId);
    await withNetworkError(NetworkErrorCode.LINK_FAILED, `tap ${tap} on ${ctx.bridge}`, () =>
      this.net.ipBatch([`tuntap add dev ${tap} mode tap`, `link set dev ${tap} master ${ctx.bridge} up`]),
    );
    return { tap: { kind: 'ifname', ifname: tap }, mac: ctx.mac };
  }

  async unplumb(ctx: PlumbContext): Promise<void> {
    const tap = bridgeTapName(ctx.sandboxId);
    await this.net.ip(['link', 'del', tap]).catch((error: unknown) => {
      // Already gone is the goal.
      if (!String(error).includes('Cannot find device')) throw error;
    });
  }
}
