import type { TunAdapter } from '../../host/tun.adapter';
import type { CniMode } from '../cni/cni.types';

/** How a VM's NIC is joined to the CNI network (Kata's network models, plus a veth-less bridge). */
export const NETWORK_MODELS = ['tcfilter', 'macvtap', 'bridge'] as const;
export type NetworkModelKind = (typeof NETWORK_MODELS)[number];

/** What a model needs to plug one sandbox's VM NIC into the network CNI prepared. */
export interface PlumbContext {
  sandboxId: string;
  /** The sandbox's netns name (models that use one). */
  netns: string;
  /** The interface CNI created in the netns. */
  cniIfname: string;
  /** The host end of CNI's veth, on the tenant bridge (models that use one). */
  cniHostIfname?: string;
  /** The MAC the guest NIC takes: the CNI interface's, or one the model chose. */
  mac: string;
  /** The tenant bridge on the host. */
  bridge: string;
  /** The sandbox's private run dir (device nodes go here). */
  runDir: string;
}

/** A plumbed NIC: the descriptor the VMM gets it as, and the sandbox's port on its tenant bridge. */
export interface PlumbedNic {
  /** A TAP or macvtap descriptor; the VMM needs no network privilege and no /dev/net/tun. */
  fd: number;
  /** The link through which the guest's frames enter the tenant bridge; the firewall fences it. */
  bridgePort: string;
}

/**
 * One way of joining a VM's NIC to the CNI network (Kata's `NetworkModel` trait). Plumbing
 * happens after CNI ADD and before the VMM starts; unplumbing before CNI DEL.
 */
export interface NetworkModel {
  readonly kind: NetworkModelKind;
  /** `full`: CNI makes a veth into a sandbox netns. `ipam-only`: no netns, no veth. */
  readonly cniMode: CniMode;
  plumb(ctx: PlumbContext): Promise<PlumbedNic>;
  /** Removes what plumb made outside the netns (deleting the netns takes the rest); idempotent. */
  unplumb(ctx: PlumbContext): Promise<void>;
}

/** The host-wide name of a sandbox's TAP: `mt` + the first 13 hex digits of its id (link names have 15 characters). */
export function sandboxTapName(sandboxId: string): string {
  return `mt${sandboxId.replaceAll('-', '').slice(0, 13)}`;
}

/** Opens the sandbox's TAP in the host's netns; closes it again if `then` fails. */
export async function withTap<T>(tun: TunAdapter, ifname: string, then: (fd: number) => Promise<T>): Promise<T> {
  const fd = tun.openTap(ifname);
  try {
    return await then(fd);
  } catch (error) {
    tun.close(fd);
    throw error;
  }
}
