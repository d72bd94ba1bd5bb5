import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Interface, Route } from '@moat/proto';
import { pathExists } from '../host/fs.helpers';
import { IprouteNetAdapter, NETNS_DIR, type NetAdapter } from '../host/net.adapter';
import { NodeProcessAdapter, type ProcessAdapter } from '../host/process.adapter';
import { LinuxTunAdapter, type TunAdapter } from '../host/tun.adapter';
import { CniRunner } from './cni/cni.runner';
import type { CniConflist, CniResult } from './cni/cni.types';
import { conflistForTenant, DEFAULT_CONFLIST } from './cni/conflist';
import { HostFirewall } from './firewall/host-firewall';
import { joinPodNetns, leavePodNetns } from './pod-netns';
import type { PlumbContext, PlumbedNic } from './models/network-model';
import { createNetworkModel } from './models/network-model.factory';
import { NetworkError, NetworkErrorCode, withNetworkError } from '../errors/network.errors';
import type { GuestNetConfig, NetworkState, PortMapping, SandboxNetworkSpec } from './network.types';
import { canonicalCidr, TenantNetworks, type TenantPeers } from './tenants/tenant-networks';

/** Node-wide network settings (`MOAT_CNI_PATH`, `MOAT_CNI_CONFLIST`, …). */
export interface NetworkOptions {
  /** Plugin directories, searched in order. Default `/usr/lib/cni`. */
  cniPath?: readonly string[];
  /** The conflist template; default {@link DEFAULT_CONFLIST}. */
  conflist?: CniConflist;
  /** Tenant bridges are `<prefix><n>`; default `moat`. */
  bridgePrefix?: string;
  /** Split into one subnet per tenant; default `10.88.0.0/16`. */
  subnetPool?: string;
  /** Default 24. */
  tenantPrefixLength?: number;
  /** CNI cache, IPAM leases, the tenant table and the firewall's record live here. */
  stateDir: string;
}

/** One sandbox to plumb. */
export interface AttachRequest {
  sandboxId: string;
  tenantId: string;
  spec: SandboxNetworkSpec;
  /** The sandbox's private run dir (device nodes go here). */
  runDir: string;
  /** Its resolvers: DNS to them passes its egress policy. */
  dnsServers: string[];
  /**
   * The MAC and address a woken guest still has (its NIC was saved with them): the sandbox is
   * plumbed with exactly those again. Absent: CNI's (or the plan's) choice.
   */
  keep?: { mac?: string; address?: string };
}

/** The guest NIC is always eth0, whatever the model. */
export const GUEST_IFNAME = 'eth0';
const CNI_IFNAME = 'eth0';

/** The sandbox's netns: `moat-<sandbox id>`, so a leak check finds it. */
export function netnsName(sandboxId: string): string {
  return `moat-${sandboxId}`;
}

/** A locally administered unicast MAC derived from the sandbox id (for models without a CNI interface). */
export function macForSandbox(sandboxId: string): string {
  const hex = sandboxId.replaceAll('-', '');
  return ['02', ...[0, 2, 4, 6, 8].map((i) => hex.slice(i, i + 2))].join(':');
}

/** A plumbed sandbox: what its state file keeps, and the NIC's descriptor for the VMM. */
export interface NetworkAttachment {
  state: NetworkState;
  /** Held until the VMM has its copy, then closed (see `TunAdapter`). */
  nicFd: number;
}

/**
 * Plumbs sandboxes into their tenant's network: tenant bridge → netns → CNI ADD → model →
 * guest config, and undoes it in reverse. Every host object is named after the sandbox id,
 * and progress is saved before each acquisition, so `detach` can clean up after a crash.
 */
export class SandboxNetworks {
  readonly tenants: TenantNetworks;
  readonly cni: CniRunner;
  readonly firewall: HostFirewall;
  private readonly conflist: CniConflist;
  private readonly ipamDir: string;

  constructor(
    private readonly net: NetAdapter,
    private readonly tun: TunAdapter,
    proc: ProcessAdapter,
    opts: NetworkOptions,
    private readonly freePort: (protocol: 'tcp' | 'udp') => Promise<number> = pickFreePort,
  ) {
    this.conflist = opts.conflist ?? DEFAULT_CONFLIST;
    this.ipamDir = join(opts.stateDir, 'ipam');
    const bridgePrefix = opts.bridgePrefix ?? 'moat';
    const subnetPool = opts.subnetPool ?? '10.88.0.0/16';
    this.cni = new CniRunner(proc, { pluginDirs: opts.cniPath ?? ['/usr/lib/cni'], cacheDir: join(opts.stateDir, 'cni-cache') });
    this.firewall = new HostFirewall(net, { bridgePrefix, subnetPool, stateFile: join(opts.stateDir, 'firewall.json') });
    this.tenants = new TenantNetworks(net, {
      bridgePrefix,
      subnetPool,
      tenantPrefixLength: opts.tenantPrefixLength ?? 24,
      stateFile: join(opts.stateDir, 'tenants.json'),
      ipamDataDir: this.ipamDir,
      networkNamePrefix: `${this.conflist.name}-${bridgePrefix}`,
      overlayFence: (fence) => this.firewall.setOverlay(fence),
    });
  }

  /** With the real host tools (iproute2, iptables, the CNI plugins, /dev/net/tun). */
  static async create(opts: NetworkOptions, proc: ProcessAdapter = new NodeProcessAdapter()): Promise<SandboxNetworks> {
    return new SandboxNetworks(new IprouteNetAdapter(proc), await LinuxTunAdapter.load(), proc, opts);
  }

  /**
   * Plumbs one sandbox and fences it. `save` is called with the growing state before anything
   * is acquired and after each step; on failure the caller runs {@link detach} with the last
   * saved state.
   */
  async attach(req: AttachRequest, save: (state: NetworkState) => Promise<void>): Promise<NetworkAttachment> {
    const { sandboxId, tenantId, spec, runDir } = req;
    const state: NetworkState = { owner: sandboxId, model: spec.model, tenantId, ports: await this.resolvePorts(spec) };
    await save(state);
    const model = createNetworkModel(spec.model, this.net, this.tun);
    const tenant = await this.tenants.acquire(tenantId, sandboxId, spec.planned);
    const netns = netnsName(sandboxId);
    const netnsPath = `${NETNS_DIR}/${netns}`;
    if (model.cniMode === 'full') {
      await withNetworkError(NetworkErrorCode.NETNS_FAILED, `create netns ${netns}`, () => this.net.ip(['netns', 'add', netns]));
    }
    const result = await this.cni.add(
      // ipam-only touches no netns; CNI still wants one, so it gets the host's.
      { containerId: sandboxId, netnsPath: model.cniMode === 'full' ? netnsPath : '/proc/self/ns/net', ifname: CNI_IFNAME },
      conflistForTenant(this.conflist, tenant, this.ipamDir, spec.planned?.address ?? req.keep?.address),
      { portMappings: state.ports },
      model.cniMode,
    );
    const mac = model.cniMode === 'full' ? await this.cniInterfaceMac(result, netns, req.keep?.mac) : macForSandbox(sandboxId);
    const cniHostIfname = cniHostEnd(result, tenant.bridge);
    const plumbed: PlumbedNic = await model.plumb({ ...this.plumbContext(sandboxId, runDir, tenant.bridge, mac), ...(cniHostIfname && { cniHostIfname }) });
    try {
      state.nic = { mac, bridgePort: plumbed.bridgePort };
      state.guest = guestConfig(result, mac);
      const mtu = spec.planned && (await this.tenants.overlayMtu());
      if (mtu) state.guest.mtu = mtu;
      await save(state);
      await this.firewall.add(sandboxId, {
        bridge: tenant.bridge,
        bridgePort: plumbed.bridgePort,
        ip: state.guest.addresses[0].address,
        mac,
        dns: req.dnsServers,
        ...(spec.egress && { egress: spec.egress }),
      });
    } catch (error) {
      this.tun.close(plumbed.fd);
      throw error;
    }
    return { state, nicFd: plumbed.fd };
  }

  /** The MAC of CNI's interface in the netns, the guest's: set to `keep` first when given. */
  private async cniInterfaceMac(result: CniResult, netns: string, keep: string | undefined): Promise<string> {
    if (keep === undefined) return cniMac(result, `${NETNS_DIR}/${netns}`);
    await withNetworkError(NetworkErrorCode.NETNS_FAILED, `set ${CNI_IFNAME}'s MAC in ${netns}`, () => this.net.ip(['-n', netns, 'link', 'set', 'dev', CNI_IFNAME, 'address', keep]));
    return keep;
  }

  /** Plumbs a pod's VM into the netns CRI's CNI set up for it: see `pod-netns`. */
  joinPod(sandboxId: string, netnsPath: string, save: (state: NetworkState) => Promise<void>): Promise<NetworkAttachment> {
    return joinPodNetns(this.net, this.tun, { sandboxId, netnsPath, netns: netnsName(sandboxId) }, save);
  }

  /** Closes the runtime's copy of a NIC descriptor once the VMM has its own. */
  releaseNicFd(fd: number): void {
    this.tun.close(fd);
  }

  /** Undoes {@link attach} from whatever state it reached; every step runs, the first failure is rethrown. */
  async detach(sandboxId: string, state: NetworkState, runDir: string): Promise<void> {
    if (state.pod) return leavePodNetns(this.net, state.pod);
    const model = createNetworkModel(state.model, this.net, this.tun);
    const failures: unknown[] = [];
    const attempt = async (fn: () => Promise<void>) => {
      await fn().catch((error: unknown) => failures.push(error));
    };
    await attempt(() => this.firewall.remove(sandboxId));
    const tenant = await this.tenants.lookup(state.tenantId);
    await attempt(() => model.unplumb(this.plumbContext(sandboxId, runDir, tenant?.bridge ?? '', state.nic?.mac ?? '')));
    await attempt(() => this.cni.del(sandboxId));
    // Its flows stop here too: their NAT would otherwise send what still comes after its address.
    for (const { address } of state.guest?.addresses ?? []) {
      await attempt(() => withNetworkError(NetworkErrorCode.FIREWALL_FAILED, `forget the tracked flows of ${address}`, () => this.net.forgetFlows(address)));
    }
    const netns = netnsName(sandboxId);
    if (await pathExists(`${NETNS_DIR}/${netns}`)) {
      await attempt(() => withNetworkError(NetworkErrorCode.NETNS_FAILED, `delete netns ${netns}`, async () => {
        await this.net.ip(['netns', 'del', netns]);
      }));
    }
    await attempt(() => this.tenants.release(state.tenantId, sandboxId));
    if (failures.length > 0) throw failures[0];
  }

  /** The control plane's latest word on where each tenant's network reaches beyond this node: see {@link TenantNetworks.setPeers}. */
  setOverlayPeers(underlayAddress: string | undefined, tenants: readonly TenantPeers[]): Promise<void> {
    return this.tenants.setPeers(underlayAddress, tenants);
  }

  /** CNI CHECK: is the sandbox's attachment still as ADD left it? */
  check(sandboxId: string): Promise<void> {
    return this.cni.check(sandboxId);
  }

  private plumbContext(sandboxId: string, runDir: string, bridge: string, mac: string): PlumbContext {
    return { sandboxId, netns: netnsName(sandboxId), cniIfname: CNI_IFNAME, mac, bridge, runDir };
  }

  private async resolvePorts(spec: SandboxNetworkSpec): Promise<PortMapping[]> {
    const ports: PortMapping[] = [];
    for (const port of spec.ports) {
      ports.push({ ...port, hostPort: port.hostPort ?? (await this.freePort(port.protocol)) });
    }
    return ports;
  }
}

/** The guest's interface and routes as guest agent requests. */
export function guestRequests(guest: GuestNetConfig): { iface: Interface; routes: Route[] } {
  const iface: Interface = {
    device: '',
    name: GUEST_IFNAME,
    hwAddr: guest.mac,
    mtu: guest.mtu ?? 0,
    ipAddresses: guest.addresses.map((a) => ({ family: a.family, address: a.address, mask: String(a.prefix) })),
  };
  // Replacing the device's routes flushes the connected ones too, so they are listed explicitly.
  const onLink: Route[] = guest.addresses
    .filter((a) => a.family === '4')
    .map((a) => ({ dest: canonicalCidr(`${a.address}/${a.prefix}`), gateway: '', device: GUEST_IFNAME, source: a.address }));
  const routes = guest.routes.map((r) => ({ dest: r.dest === '0.0.0.0/0' ? 'default' : r.dest, gateway: r.gateway, device: GUEST_IFNAME, source: '' }));
  return { iface, routes: [...onLink, ...routes] };
}

/** The host end of the veth CNI made: the interface outside any sandbox that is not the bridge. */
function cniHostEnd(result: CniResult, bridge: string): string | undefined {
  return result.interfaces?.find((i) => i.sandbox === undefined && i.name !== bridge)?.name;
}

function cniMac(result: CniResult, netnsPath: string): string {
  const iface = result.interfaces?.find((i) => i.sandbox === netnsPath && i.mac);
  if (!iface?.mac) throw new NetworkError(NetworkErrorCode.CNI_RESULT_INVALID, 'CNI result names no interface with a MAC in the sandbox netns');
  return iface.mac.toLowerCase();
}

function guestConfig(result: CniResult, mac: string): GuestNetConfig {
  const addresses = result.ips.map((ip) => {
    const [address, prefix] = ip.address.split('/');
    return { address, prefix: Number(prefix), family: address.includes(':') ? ('6' as const) : ('4' as const) };
  });
  if (addresses.length === 0) throw new NetworkError(NetworkErrorCode.CNI_RESULT_INVALID, 'CNI result has no IP address');
  const defaultGateway = result.ips.find((ip) => ip.gateway)?.gateway ?? '';
  const routes = (result.routes ?? []).map((r) => ({ dest: r.dst, gateway: r.gw ?? defaultGateway }));
  return { mac, addresses, routes, dns: result.dns?.nameservers ?? [] };
}

/** Asks the kernel for a free port by binding port 0; portmap then publishes it. */
function pickFreePort(protocol: 'tcp' | 'udp'): Promise<number> {
  if (protocol === 'udp') return pickFreeUdpPort();
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (cause) => reject(new NetworkError(NetworkErrorCode.PORT_UNAVAILABLE, 'no free TCP port', { cause })));
    server.listen(0, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function pickFreeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', (cause) => reject(new NetworkError(NetworkErrorCode.PORT_UNAVAILABLE, 'no free UDP port', { cause })));
    socket.bind(0, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}
