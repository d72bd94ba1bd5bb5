import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cidrSize, formatIpv4, formatIpv4Cidr, parseIpv4, type Ipv4Cidr } from '@moat/proto';
import { z } from 'zod';
import { JsonState } from '../../host/json-state';
import type { NetAdapter } from '../../host/net.adapter';
import { NetworkError, NetworkErrorCode, withNetworkError } from '../../errors/network.errors';
import { TenantOverlay, type OverlayFence } from '../overlay/tenant-overlay';

/** One tenant's L2 segment on this node. */
export interface TenantNetwork {
  bridge: string;
  /** CIDR, e.g. `10.88.3.0/24`. */
  subnet: string;
  gateway: string;
  prefixLength: number;
  /** The CNI network name; host-local keeps this tenant's leases in a directory of that name. */
  networkName: string;
  /** The fleet-wide segment's VXLAN id, when the control plane planned the network. */
  vni?: number;
}

/** A tenant's network as the control plane planned it for the whole fleet (the same on every node). */
export interface TenantPlan {
  vni: number;
  /** CIDR, e.g. `10.88.3.0/24`. */
  subnet: string;
  gateway: string;
}

/** Where a tenant's segment reaches beyond this node: the other nodes holding its sandboxes (absent: as last told). */
export interface TenantPeers {
  tenantId: string;
  peers?: readonly string[];
}

export interface TenantNetworksOptions {
  /** At most 9 characters: bridges are `<prefix><index>` and link names have 15. */
  bridgePrefix: string;
  /** IPv4 CIDR split into one subnet per tenant, e.g. `10.88.0.0/16`. */
  subnetPool: string;
  tenantPrefixLength: number;
  /** Records which tenant has which subnet and which sandboxes use it. */
  stateFile: string;
  /** Host-local's lease dirs, removed with the tenant's bridge. */
  ipamDataDir: string;
  /** Base of the CNI network names. */
  networkNamePrefix: string;
  /** Told, after every change, which VNIs this node carries overlays for and from which peers (the node's firewall). */
  overlayFence?: (fence: OverlayFence) => Promise<void>;
}

const planSchema = z.object({ vni: z.number().int().positive(), subnet: z.string(), gateway: z.string() });
const stateSchema = z.object({
  tenants: z.record(
    z.string(),
    z.object({
      /** Names the bridge (and its overlay link) on this node. */
      index: z.number().int().nonnegative(),
      sandboxes: z.array(z.string()),
      /** Absent: the node planned the network itself, from its pool by `index`. */
      plan: planSchema.optional(),
    }),
  ),
});
type State = z.infer<typeof stateSchema>;

/**
 * Tenant segments: every tenant gets its own bridge and subnet on a node, so its sandboxes share
 * an L2 segment with each other only; the node's firewall (HostFirewall) keeps segments apart and
 * the node out of reach. A bridge lives while a sandbox of its tenant does; the last release
 * removes it and its leases.
 *
 * Planned by the control plane (a {@link TenantPlan} at acquire), the segment is the tenant's
 * across the fleet: the subnet and gateway are the plan's, the bridge carries the gateway under
 * one MAC derived from the VNI on every node (an anycast gateway), and once {@link setPeers}
 * names other nodes holding the tenant's sandboxes, a VXLAN port (TenantOverlay) joins them.
 * Unplanned (no control plane: tests, benchmarks), the node carves a subnet of its own pool.
 */
export class TenantNetworks {
  private readonly state: JsonState<State>;
  /** Set once this process turned IPv4 forwarding on. */
  private forwarding = false;
  private readonly pool: { base: number; prefix: number };
  private readonly overlay: TenantOverlay;
  /** The latest peers the control plane named, by tenant, and this node's underlay address. */
  private peers = new Map<string, readonly string[]>();
  private underlayAddress: string | undefined;
  /** The overlay MTU from the underlay address's interface, read once per address. */
  private underlayMtu: number | undefined;
  /** Each tenant's overlay as last brought about (underlay address and peers), so an unchanged one costs no `ip`/`bridge` call. */
  private readonly synced = new Map<string, string>();
  /** The fence last told (JSON), so that an unchanged one costs no firewall rebuild. */
  private lastFence: string | undefined;

  constructor(
    private readonly net: NetAdapter,
    private readonly opts: TenantNetworksOptions,
  ) {
    if (!/^[a-z][a-z0-9-]{0,8}$/.test(opts.bridgePrefix)) {
      throw new NetworkError(NetworkErrorCode.CNI_CONFIG_INVALID, `bridge prefix "${opts.bridgePrefix}" must be 1-9 of [a-z0-9-], starting with a letter`);
    }
    this.pool = parseCidr(opts.subnetPool);
    if (opts.tenantPrefixLength < this.pool.prefix || opts.tenantPrefixLength > 30) {
      throw new NetworkError(NetworkErrorCode.CNI_CONFIG_INVALID, `tenant prefix /${opts.tenantPrefixLength} does not fit pool ${opts.subnetPool}`);
    }
    this.overlay = new TenantOverlay(net);
    this.state = new JsonState(
      opts.stateFile,
      stateSchema,
      () => ({ tenants: {} }),
      (cause) => new NetworkError(NetworkErrorCode.TENANT_NETWORK_FAILED, `read ${opts.stateFile}`, { cause }),
    );
  }

  /**
   * Registers the sandbox with its tenant's network, creating bridge, subnet, rules and overlay
   * if needed. `plan` is the control plane's; a tenant keeps the plan it was first acquired with.
   */
  acquire(tenantId: string, sandboxId: string, plan?: TenantPlan): Promise<TenantNetwork> {
    return this.state.update(async (state, save) => {
      let entry = state.tenants[tenantId];
      if (!entry) {
        if (plan) this.checkPlan(state, tenantId, plan);
        entry = { index: this.freeIndex(state), sandboxes: [], ...(plan && { plan: { vni: plan.vni, subnet: canonicalCidr(plan.subnet), gateway: plan.gateway } }) };
        state.tenants[tenantId] = entry;
      }
      if (!entry.sandboxes.includes(sandboxId)) entry.sandboxes.push(sandboxId);
      // Recorded before the bridge exists, so a crash in between is undone by release.
      await save(state);
      const network = this.networkOf(entry);
      await this.ensureForwarding();
      await this.ensureBridge(network);
      await this.syncOverlay(tenantId, entry);
      await this.fence(state);
      return network;
    });
  }

  /** The tenant's network if any sandbox holds it. */
  async lookup(tenantId: string): Promise<TenantNetwork | undefined> {
    const entry = (await this.state.read()).tenants[tenantId];
    return entry && this.networkOf(entry);
  }

  /**
   * Takes the control plane's latest word on where each tenant's segment reaches (sent with
   * every desired set) and brings the overlay of every planned tenant on this node to it: a
   * VXLAN port while other nodes hold the tenant's sandboxes, none while only this one does.
   * Tenants not listed have no peers; a tenant listed without peers keeps those it was last
   * told. Every tenant is tried; the first failure is rethrown.
   */
  setPeers(underlayAddress: string | undefined, tenants: readonly TenantPeers[]): Promise<void> {
    return this.state.update(async (state) => {
      if (underlayAddress !== this.underlayAddress) this.underlayMtu = undefined;
      this.underlayAddress = underlayAddress;
      this.peers = new Map(tenants.map((t) => [t.tenantId, t.peers ?? this.peers.get(t.tenantId) ?? []]));
      const failures: unknown[] = [];
      for (const [tenantId, entry] of Object.entries(state.tenants)) {
        await this.syncOverlay(tenantId, entry).catch((error: unknown) => failures.push(error));
      }
      await this.fence(state).catch((error: unknown) => failures.push(error));
      if (failures.length > 0) throw failures[0];
    });
  }

  /**
   * The MTU a guest on a fleet-wide segment must keep to, so its frames fit the overlay
   * wherever they go; undefined while the node does not know its underlay address, or has no
   * interface with it (then its overlays fail, loudly, in setPeers).
   */
  async overlayMtu(): Promise<number | undefined> {
    return this.mtuOfUnderlay().catch(() => undefined);
  }

  /** Drops the sandbox; the tenant's bridge and leases go with its last sandbox. Idempotent. */
  release(tenantId: string, sandboxId: string): Promise<void> {
    return this.state.update(async (state, save) => {
      const entry = state.tenants[tenantId];
      if (!entry) return;
      entry.sandboxes = entry.sandboxes.filter((id) => id !== sandboxId);
      if (entry.sandboxes.length > 0) return save(state);
      const network = this.networkOf(entry);
      if (entry.plan) await this.overlay.remove(this.overlayLink(entry.index));
      this.synced.delete(tenantId);
      if (await this.net.linkExists(network.bridge)) await this.linkStep(`delete bridge ${network.bridge}`, () => this.net.ip(['link', 'del', network.bridge]));
      await rm(join(this.opts.ipamDataDir, network.networkName), { recursive: true, force: true });
      delete state.tenants[tenantId];
      await save(state);
      await this.fence(state);
    });
  }

  /** Tells the firewall the VNIs of the overlay ports this node has, and their peers. */
  private async fence(state: State): Promise<void> {
    if (!this.opts.overlayFence) return;
    const vnis: number[] = [];
    const peers = new Set<string>();
    for (const [tenantId, entry] of Object.entries(state.tenants)) {
      const tenantPeers = this.peers.get(tenantId) ?? [];
      if (!entry.plan || !this.underlayAddress || tenantPeers.length === 0) continue;
      vnis.push(entry.plan.vni);
      tenantPeers.forEach((peer) => peers.add(peer));
    }
    const fence = { vnis: vnis.sort((a, b) => a - b), peers: [...peers].sort() };
    const key = JSON.stringify(fence);
    if (key === this.lastFence) return;
    await this.opts.overlayFence(fence);
    this.lastFence = key;
  }

  private networkOf({ index, plan }: { index: number; plan?: TenantPlan }): TenantNetwork {
    const named = { bridge: `${this.opts.bridgePrefix}${index}`, networkName: `${this.opts.networkNamePrefix}-${index}` };
    if (plan) return { ...named, subnet: plan.subnet, gateway: plan.gateway, prefixLength: parseCidr(plan.subnet).prefix, vni: plan.vni };
    const size = 2 ** (32 - this.opts.tenantPrefixLength);
    const base = this.pool.base + index * size;
    return { ...named, subnet: `${formatIpv4(base)}/${this.opts.tenantPrefixLength}`, gateway: formatIpv4(base + 1), prefixLength: this.opts.tenantPrefixLength };
  }

  /** The tenant's VXLAN port: `<prefix>v<index>`, which the node's firewall knows by that prefix. */
  private overlayLink(index: number): string {
    return `${this.opts.bridgePrefix}v${index}`;
  }

  /** Two tenants on one bridge's subnet would route into each other: a plan never reuses a subnet, so this is a mixed-up node. */
  private checkPlan(state: State, tenantId: string, plan: TenantPlan): void {
    const subnet = canonicalCidr(plan.subnet);
    const holder = Object.entries(state.tenants).find(([, entry]) => this.networkOf(entry).subnet === subnet);
    if (holder) {
      throw new NetworkError(NetworkErrorCode.TENANT_NETWORK_FAILED, `subnet ${subnet} planned for tenant ${tenantId} is held on this node by tenant ${holder[0]}`);
    }
  }

  /**
   * Brings a planned tenant's overlay port to the peers last named (none: no port); nothing when
   * it is already there (every desired set and every sandbox start ask).
   */
  private async syncOverlay(tenantId: string, entry: State['tenants'][string]): Promise<void> {
    if (!entry.plan) return;
    const link = this.overlayLink(entry.index);
    const peers = this.peers.get(tenantId) ?? [];
    const wanted = JSON.stringify([this.underlayAddress, peers]);
    if (this.synced.get(tenantId) === wanted) return;
    if (peers.length === 0 || !this.underlayAddress) {
      await this.overlay.remove(link);
    } else {
      const bridge = this.networkOf(entry).bridge;
      await this.overlay.ensure({ bridge, link, vni: entry.plan.vni, localAddress: this.underlayAddress, peers, mtu: await this.mtuOfUnderlay() });
    }
    this.synced.set(tenantId, wanted);
  }

  /** The overlay MTU for this node's underlay address; fails without one, or when no interface has it. */
  private async mtuOfUnderlay(): Promise<number> {
    if (!this.underlayAddress) throw new NetworkError(NetworkErrorCode.LINK_FAILED, 'no underlay address known yet');
    this.underlayMtu ??= await this.overlay.mtuFor(this.underlayAddress);
    return this.underlayMtu;
  }

  private freeIndex(state: State): number {
    const used = new Set(Object.values(state.tenants).map((t) => t.index));
    const count = 2 ** (this.opts.tenantPrefixLength - this.pool.prefix);
    for (let index = 0; index < count; index++) if (!used.has(index)) return index;
    throw new NetworkError(NetworkErrorCode.SUBNET_POOL_EXHAUSTED, `no free /${this.opts.tenantPrefixLength} left in ${this.opts.subnetPool}`);
  }

  private async ensureBridge(network: TenantNetwork): Promise<void> {
    if (await this.net.linkExists(network.bridge)) return;
    await this.linkStep(`create bridge ${network.bridge}`, () =>
      this.net.ipBatch([
        `link add name ${network.bridge} type bridge`,
        // The same gateway MAC on every node: a guest keeps its gateway wherever it runs.
        ...(network.vni === undefined ? [] : [`link set ${network.bridge} address ${gatewayMac(network.vni)}`]),
        `addr add ${network.gateway}/${network.prefixLength} dev ${network.bridge}`,
        `link set ${network.bridge} up`,
      ]),
    );
  }

  /** The CNI bridge plugin turns forwarding on when it runs; the bridge model never runs it. */
  private async ensureForwarding(): Promise<void> {
    if (this.forwarding) return;
    await this.linkStep('enable IPv4 forwarding', () => this.net.enableIpv4Forwarding());
    this.forwarding = true;
  }

  private linkStep<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withNetworkError(NetworkErrorCode.TENANT_NETWORK_FAILED, what, fn);
  }
}

/** Parses an IPv4 CIDR; the base is masked to the prefix (host bits may be set: `10.1.2.3/8`). */
export function parseCidr(cidr: string): Ipv4Cidr {
  const [address, length, ...rest] = cidr.split('/');
  const ip = parseIpv4(address);
  const prefix = Number(length);
  if (ip === undefined || rest.length > 0 || !/^\d{1,2}$/.test(length ?? '') || prefix > 32) {
    throw new NetworkError(NetworkErrorCode.CNI_CONFIG_INVALID, `"${cidr}" is not an IPv4 CIDR`);
  }
  return { base: ip - (ip % cidrSize(prefix)), prefix };
}

/** `10.1.2.3/24` → `10.1.2.0/24`. */
export function canonicalCidr(cidr: string): string {
  return formatIpv4Cidr(parseCidr(cidr));
}

/** The anycast gateway's MAC of a planned tenant network: locally administered, unicast, from the VNI. */
export function gatewayMac(vni: number): string {
  const bytes = [0x02, 0x6d, 0x74, (vni >>> 16) & 0xff, (vni >>> 8) & 0xff, vni & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

