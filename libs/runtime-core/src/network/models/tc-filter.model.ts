import { NETNS_DIR, type NetAdapter } from '../../host/net.adapter';
import { NetworkErrorCode, withNetworkError } from '../network.errors';
import type { VmNic } from '../network.types';
import type { NetworkModel, PlumbContext } from './network-model';

/** The tap QEMU opens inside the sandbox netns. */
export const TC_TAP = 'tap0';

/**
 * Kata's default: a tap next to the CNI veth in the sandbox netns, with an ingress qdisc on
 * both and a match-all u32 filter redirecting every frame from one to the other. The netns'
 * own stack never sees a frame, so the guest effectively owns the veth's MAC and address.
 * Two forks in all (one `ip -batch`, one `tc -batch`).
 */
export class TcFilterModel implements NetworkModel {
  readonly kind = 'tcfilter' as const;
  readonly cniMode = 'full' as const;

  constructor(private readonly net: NetAdapter) {}

  async plumb(ctx: PlumbContext): Promise<VmNic> {
    const veth = ctx.cniIfname;
    await withNetworkError(NetworkErrorCode.LINK_FAILED, `tap in netns ${ctx.netns}`, () =>
      this.net.ipBatch(['link set lo up', `tuntap add dev ${TC_TAP} mode tap`, `link set dev ${TC_TAP} up`], ctx.netns),
    );
    await withNetworkError(NetworkErrorCode.LINK_FAILED, `tc redirect in netns ${ctx.netns}`, () =>
      this.net.tcBatch(
        [
          `qdisc add dev ${veth} ingress`,
          `qdisc add dev ${TC_TAP} ingress`,
          `filter add dev ${veth} parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev ${TC_TAP}`,
          `filter add dev ${TC_TAP} parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev ${veth}`,
        ],
        ctx.netns,
      ),
    );
    return { netnsPath: `${NETNS_DIR}/${ctx.netns}`, tap: { kind: 'ifname', ifname: TC_TAP }, mac: ctx.mac };
  }

  /** The tap, qdiscs and filters live in the netns and go with it. */
  unplumb(): Promise<void> {
    return Promise.resolve();
  }
}
