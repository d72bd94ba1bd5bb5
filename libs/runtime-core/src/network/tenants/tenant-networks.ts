import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { JsonState } from '../../host/json-state';
import type { NetAdapter } from '../../host/net.adapter';
import { NetworkError, NetworkErrorCode, withNetworkError } from '../../errors/network.errors';

/** One tenant's L2 segment on this node. */
export interface TenantNetwork {
  bridge: string;
  /** CIDR, e.g. `10.88.3.0/24`. */
  subnet: string;
  gateway: string;
  prefixLength: number;
  /** The CNI network name; host-local keeps this tenant's leases in a directory of that name. */
  networkName: string;
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
}

const stateSchema = z.object({
  tenants: z.record(z.string(), z.object({ index: z.number().int().nonnegative(), sandboxes: z.array(z.string()) })),
});
type State = z.infer<typeof stateSchema>;

/**
 * Tenant segments: every tenant gets its own bridge and subnet on a node, so its sandboxes share
 * an L2 segment with each other only; the node's firewall (HostFirewall) keeps segments apart and
 * the node out of reach. A bridge lives while a sandbox of its tenant does; the last release
 * removes it and its leases.
 */
export class TenantNetworks {
  private readonly state: JsonState<State>;
  /** Set once this process turned IPv4 forwarding on. */
  private forwarding = false;
  private readonly pool: { base: number; prefix: number };

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
    this.state = new JsonState(
      opts.stateFile,
      stateSchema,
      () => ({ tenants: {} }),
      (cause) => new NetworkError(NetworkErrorCode.TENANT_NETWORK_FAILED, `read ${opts.stateFile}`, { cause }),
    );
  }

  /** Registers the sandbox with its tenant's network, creating bridge, subnet and rules if needed. */
  acquire(tenantId: string, sandboxId: string): Promise<TenantNetwork> {
    return this.state.update(async (state, save) => {
      let entry = state.tenants[tenantId];
      if (!entry) {
        entry = { index: this.freeIndex(state), sandboxes: [] };
        state.tenants[tenantId] = entry;
      }
      if (!entry.sandboxes.includes(sandboxId)) entry.sandboxes.push(sandboxId);
      // Recorded before the bridge exists, so a crash in between is undone by release.
      await save(state);
      const network = this.networkOf(entry.index);
      await this.ensureForwarding();
      await this.ensureBridge(network);
      return network;
    });
  }

  /** The tenant's network if any sandbox holds it. */
  async lookup(tenantId: string): Promise<TenantNetwork | undefined> {
    const entry = (await this.state.read()).tenants[tenantId];
    return entry && this.networkOf(entry.index);
  }

  /** Drops the sandbox; the tenant's bridge and leases go with its last sandbox. Idempotent. */
  release(tenantId: string, sandboxId: string): Promise<void> {
    return this.state.update(async (state, save) => {
      const entry = state.tenants[tenantId];
      if (!entry) return;
      entry.sandboxes = entry.sandboxes.filter((id) => id !== sandboxId);
      if (entry.sandboxes.length > 0) return save(state);
      const network = this.networkOf(entry.index);
      if (await this.net.linkExists(network.bridge)) await this.linkStep(`delete bridge ${network.bridge}`, () => this.net.ip(['link', 'del', network.bridge]));
      await rm(join(this.opts.ipamDataDir, network.networkName), { recursive: true, force: true });
      delete state.tenants[tenantId];
      await save(state);
    });
  }

  private networkOf(index: number): TenantNetwork {
    const size = 2 ** (32 - this.opts.tenantPrefixLength);
    const base = this.pool.base + index * size;
    return {
      bridge: `${this.opts.bridgePrefix}${index}`,
      subnet: `${ipString(base)}/${this.opts.tenantPrefixLength}`,
      gateway: ipString(base + 1),
      prefixLength: this.opts.tenantPrefixLength,
      networkName: `${this.opts.networkNamePrefix}-${index}`,
    };
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

/** Parses an IPv4 CIDR; the base is masked to the prefix. */
export function parseCidr(cidr: string): { base: number; prefix: number } {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = match?.slice(1, 5).map(Number) ?? [];
  const prefix = Number(match?.[5]);
  if (!match || octets.some((o) => o > 255) || prefix > 32) {
    throw new NetworkError(NetworkErrorCode.CNI_CONFIG_INVALID, `"${cidr}" is not an IPv4 CIDR`);
  }
  const ip = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (ip & mask) >>> 0, prefix };
}

export function ipString(n: number): string {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}
