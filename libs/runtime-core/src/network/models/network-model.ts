import type { CniMode } from '../cni/cni.types';
import type { NetworkModelKind, VmNic } from '../network.types';

/** What a model needs to plug one sandbox's VM NIC into the network CNI prepared. */
export interface PlumbContext {
  sandboxId: string;
  /** The sandbox's netns name (models that use one). */
  netns: string;
  /** The interface CNI created in the netns. */
  cniIfname: string;
  /** The MAC the guest NIC takes: the CNI interface's, or one the model chose. */
  mac: string;
  /** The tenant bridge on the host. */
  bridge: string;
  /** The sandbox's private run dir (device nodes go here). */
  runDir: string;
}

/**
 * One way of joining a VM's NIC to the CNI network (Kata's `NetworkModel` trait). Plumbing
 * happens after CNI ADD and before the VMM starts; unplumbing before CNI DEL.
 */
export interface NetworkModel {
  readonly kind: NetworkModelKind;
  /** `full`: CNI makes a veth into a sandbox netns where QEMU then runs. `ipam-only`: no netns, no veth. */
  readonly cniMode: CniMode;
  plumb(ctx: PlumbContext): Promise<VmNic>;
  /** Removes what plumb made outside the netns (deleting the netns takes the rest); idempotent. */
  unplumb(ctx: PlumbContext): Promise<void>;
}
