import type { NetAdapter } from '../../host/net.adapter';
import type { TunAdapter } from '../../host/tun.adapter';
import { NetworkError, NetworkErrorCode, withNetworkError } from '../../errors/network.errors';
import { sandboxTapName, withTap, type NetworkModel, type PlumbContext, type PlumbedNic } from './network-model';

/** The tap's name inside the sandbox netns. */
export const TC_TAP = 'tap0';

/**
 * Kata's default: a tap next to the CNI veth in the sandbox netns, with an ingress qdisc on
 * both and a match-all u32 filter redirecting every frame from one to the other. The netns'
 * own stack never sees a frame, so the guest effectively owns the veth's MAC and address.
 * The node agent creates the tap on the host (named by the sandbox id, attached to the fd the
 * VMM gets) and moves it into the netns: two `ip -batch` forks and one `tc -batch`.
 */
export class TcFilterModel implements NetworkModel {
  readonly kind = 'tcfilter' as const;
  readonly cniMode = 'full' as const;

  constructor(
    private readonly net: NetAdapter,
    private readonly tun: TunAdapter,
  ) {}

  plumb(ctx: PlumbContext): Promise<PlumbedNic> {
    const bridgePort = ctx.cniHostIfname;
    if (!bridgePort) return Promise.reject(new NetworkError(NetworkErrorCode.CNI_RESULT_INVALID, 'CNI result names no host end of the veth'));
    return redirectThroughTap(this.net, this.tun, ctx.sandboxId, ctx.netns, ctx.cniIfname).then((fd) => ({ fd, bridgePort }));
  }

  /** The tap goes with its last descriptor (the VMM's); qdiscs and filters with the netns. */
  unplumb(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A tap named for the sandbox, moved into `netns` as {@link TC_TAP}, and every frame redirected
 * between it and `iface` both ways: the VM's NIC stands in for `iface`. Answers the tap's
 * descriptor for the VMM; the tap goes with its last descriptor.
 */
export function redirectThroughTap(net: NetAdapter, tun: TunAdapter, sandboxId: string, netns: string, iface: string): Promise<number> {
  const staging = sandboxTapName(sandboxId);
  return withTap(tun, staging, async (fd) => {
    await withNetworkError(NetworkErrorCode.LINK_FAILED, `move tap ${staging} into netns ${netns}`, () => net.ipBatch([`link set dev ${staging} netns ${netns}`]));
    await withNetworkError(NetworkErrorCode.LINK_FAILED, `tap in netns ${netns}`, () =>
      net.ipBatch(['link set lo up', `link set dev ${staging} name ${TC_TAP}`, `link set dev ${TC_TAP} up`], netns),
    );
    await withNetworkError(NetworkErrorCode.LINK_FAILED, `tc redirect in netns ${netns}`, () =>
      net.tcBatch(
        [
          `qdisc add dev ${iface} ingress`,
          `qdisc add dev ${TC_TAP} ingress`,
          `filter add dev ${iface} parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev ${TC_TAP}`,
          `filter add dev ${TC_TAP} parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev ${iface}`,
        ],
        netns,
      ),
    );
    return fd;
  });
}
