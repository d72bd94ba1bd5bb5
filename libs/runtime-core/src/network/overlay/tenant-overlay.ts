import { MAX_VNI } from '@moat/proto';
import type { NetAdapter } from '../../host/net.adapter';
import { NetworkErrorCode, withNetworkError } from '../../errors/network.errors';

/** IANA's VXLAN port. */
export const VXLAN_PORT = 4789;
/** What VXLAN adds to every frame over IPv4: outer IP 20, UDP 8, VXLAN 8, inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50;

/** One tenant's segment across the fleet, as seen from this node. */
export interface OverlaySpec {
  /** The tenant bridge the segment's port joins. */
  bridge: string;
  /** The VXLAN link's name (at most 15 characters). */
  link: string;
  /** The tenant's VXLAN network identifier, the same on every node (1 to 2^24 - 1). */
  vni: number;
  /** This node's underlay address: where its peers send the segment's frames, and their source. */
  localAddress: string;
  /** The underlay addresses of the other nodes where the tenant has sandboxes. */
  peers: readonly string[];
  /** The link's MTU: the underlay's less VXLAN_OVERHEAD, so that no encapsulated frame is dropped. */
  mtu: number;
}

/** The MTU of a guest NIC: an overlay link carries frames of at most this, whatever the underlay allows. */
const GUEST_MTU = 1500;

/**
 * What the node's firewall keeps out of its overlays: VXLAN with these tenants' VNIs is taken
 * only from these peers (no other host on the underlay injects frames into a tenant's segment).
 */
export interface OverlayFence {
  vnis: number[];
  peers: string[];
}

/** The all-zeros MAC: an FDB entry for it sends broadcast, unknown unicast and multicast to a peer. */
const FLOOD_MAC = '00:00:00:00:00:00';

interface LinkDetails {
  ifname: string;
  mtu: number;
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number } };
}

/**
 * A tenant bridge's port onto the fleet: a VXLAN link that carries the tenant's segment to the
 * other nodes where the tenant has sandboxes, by head-end replication: one flood entry per peer,
 * so the underlay needs no multicast. The link learns no remote MACs (`nolearning`): every frame
 * the bridge sends it goes to every peer, and no host on the underlay can divert a tenant's frames
 * by sending from a spoofed address. One VNI per tenant keeps tenants apart across nodes as
 * separate bridges do on one. `netns` names the namespace the node's links live in; absent,
 * this process's (the node agent's).
 */
export class TenantOverlay {
  constructor(
    private readonly net: NetAdapter,
    private readonly netns?: string,
  ) {}

  /**
   * Creates the link, or brings an existing one to `spec`: peers added and removed, recreated if
   * its VNI, local address, MTU or bridge differ. Idempotent.
   */
  async ensure(spec: OverlaySpec): Promise<void> {
    if (!Number.isInteger(spec.vni) || spec.vni < 1 || spec.vni > MAX_VNI) throw new RangeError(`VNI ${spec.vni} is not 1 to ${MAX_VNI}`);
    await withNetworkError(NetworkErrorCode.LINK_FAILED, `overlay ${spec.link} (VNI ${spec.vni})`, async () => {
      const current = await this.details(spec.link);
      if (!current || !matches(current, spec)) {
        if (current) await this.net.ip(['link', 'del', spec.link], this.netns);
        await this.net.ipBatch(
          [
            `link add ${spec.link} mtu ${spec.mtu} type vxlan id ${spec.vni} local ${spec.localAddress} dstport ${VXLAN_PORT} nolearning`,
            `link set ${spec.link} master ${spec.bridge}`,
            `link set ${spec.link} up`,
          ],
          this.netns,
        );
      }
      const present = new Set(await this.floodPeers(spec.link));
      const wanted = new Set(spec.peers.filter((peer) => peer !== spec.localAddress));
      for (const peer of wanted) if (!present.has(peer)) await this.net.bridge(['fdb', 'append', FLOOD_MAC, 'dev', spec.link, 'dst', peer], this.netns);
      for (const peer of present) if (!wanted.has(peer)) await this.net.bridge(['fdb', 'del', FLOOD_MAC, 'dev', spec.link, 'dst', peer], this.netns);
    });
  }

  /**
   * The MTU for links sending from `localAddress`: its interface's less VXLAN_OVERHEAD, so that
   * no encapsulated frame is dropped, and never above a guest NIC's. Fails when no interface
   * here has the address (a node told a wrong MOAT_NODE_ADDRESS).
   */
  async mtuFor(localAddress: string): Promise<number> {
    return withNetworkError(NetworkErrorCode.LINK_FAILED, `underlay address ${localAddress}`, async () => {
      const links = JSON.parse(await this.net.ip(['-j', '-4', 'addr', 'show'], this.netns)) as { ifname: string; mtu: number; addr_info?: { local?: string }[] }[];
      const underlay = links.find((link) => link.addr_info?.some((addr) => addr.local === localAddress));
      if (!underlay) throw new Error('no interface of this node has it (MOAT_NODE_ADDRESS names the node\'s address on the network between nodes)');
      return Math.min(GUEST_MTU, underlay.mtu - VXLAN_OVERHEAD);
    });
  }

  /** Removes the link (its FDB entries go with it); nothing if it is not there. */
  async remove(link: string): Promise<void> {
    await withNetworkError(NetworkErrorCode.LINK_FAILED, `remove overlay ${link}`, async () => {
      if (await this.details(link)) await this.net.ip(['link', 'del', link], this.netns);
    });
  }

  /** The underlay addresses the link floods to. */
  async floodPeers(link: string): Promise<string[]> {
    const entries = JSON.parse((await this.net.bridge(['-j', 'fdb', 'show', 'dev', link], this.netns)) || '[]') as { mac: string; dst?: string }[];
    return entries.filter((entry) => entry.mac === FLOOD_MAC && entry.dst !== undefined).map((entry) => entry.dst as string);
  }

  private async details(link: string): Promise<LinkDetails | undefined> {
    try {
      return (JSON.parse(await this.net.ip(['-d', '-j', 'link', 'show', 'dev', link], this.netns)) as LinkDetails[])[0];
    } catch (error) {
      if (/does not exist/.test((error as Error).message)) return undefined;
      throw error;
    }
  }
}

function matches(link: LinkDetails, spec: OverlaySpec): boolean {
  const vxlan = link.linkinfo?.info_kind === 'vxlan' ? link.linkinfo.info_data : undefined;
  return vxlan?.id === spec.vni && vxlan.local === spec.localAddress && vxlan.port === VXLAN_PORT && link.mtu === spec.mtu && link.master === spec.bridge;
}
