import { readdir, readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { ARPNeighbor, Interface, IPAddress, Route } from '@moat/proto';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { HostCommands } from '../host/host-commands.adapter';
import { pollFor } from '../host/poll';
import { ipScript } from './ip-script';

export interface NetworkPaths {
  /** `/sys/class/net`: one directory per link, with its `address` and `mtu`. */
  sysClassNet: string;
  /** `/proc/net/route`: the kernel's IPv4 routing table. */
  procNetRoute: string;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const MAX_MTU = 65_535;
const MIN_MTU = 68;
/** A NIC hot-plugged into a VM restored from a boot snapshot appears a moment after the plug. */
const LINK_WAIT_MS = 10_000;
const LINK_POLL_MS = 50;

/**
 * The guest's network: the host hands it the CNI result (MAC, addresses, routes, neighbours)
 * and this applies it with busybox `ip`, the way the Kata agent applies it with netlink.
 * Reads come from sysfs and procfs, so they do not depend on busybox's output format.
 */
export class NetworkService {
  constructor(
    private readonly host: Pick<HostCommands, 'run'>,
    private readonly paths: NetworkPaths = { sysClassNet: '/sys/class/net', procNetRoute: '/proc/net/route' },
    private readonly linkWaitMs = LINK_WAIT_MS,
  ) {}

  /** Finds the NIC by MAC, then sets its name, MTU, addresses (replacing any) and brings it up. */
  async updateInterface(iface: Interface | undefined): Promise<Interface> {
    if (!iface) throw invalid('interface is required');
    const mac = iface.hwAddr.toLowerCase();
    if (!MAC.test(mac)) throw invalid(`invalid hw_addr "${iface.hwAddr}"`);
    if (iface.name && !IFNAME.test(iface.name)) throw invalid(`invalid interface name "${iface.name}"`);
    if (iface.mtu !== 0 && (iface.mtu < MIN_MTU || iface.mtu > MAX_MTU)) throw invalid(`invalid mtu ${iface.mtu}`);
    const addresses = iface.ipAddresses.map(cidrOf);

    const { current, oldMac } = await this.linkFor(mac, iface.device);
    const name = iface.name || current;
    await this.ip([
      // A forked VM's NIC still has its source's MAC: it takes its own.
      ...(oldMac !== undefined
        ? [
            ['link', 'set', 'dev', current, 'down'],
            ['link', 'set', 'dev', current, 'address', mac],
          ]
        : []),
      ...(name !== current
        ? [
            ['link', 'set', 'dev', current, 'down'],
            ['link', 'set', 'dev', current, 'name', name],
          ]
        : []),
      ...(iface.mtu !== 0 ? [['link', 'set', 'dev', name, 'mtu', String(iface.mtu)]] : []),
      ['addr', 'flush', 'dev', name],
      ...addresses.map((cidr) => ['addr', 'add', cidr, 'dev', name]),
      ['link', 'set', 'dev', name, 'up'],
    ]);
    const updated = (await this.listInterfaces()).find((candidate) => candidate.name === name);
    if (!updated) throw new AgentError(AgentErrorCode.GUEST_SETUP_FAILED, `interface ${name} vanished after update`);
    return updated;
  }

  /**
   * Replaces the routes of every device named in the request. On-link routes go first, so a
   * gateway they make reachable can be used by the routes after them.
   */
  async updateRoutes(routes: readonly Route[]): Promise<Route[]> {
    for (const route of routes) validateRoute(route);
    const devices = [...new Set(routes.map((route) => route.device))];
    const ordered = [...routes.filter((r) => !r.gateway), ...routes.filter((r) => r.gateway)];
    await this.ip([
      ...devices.map((device) => ['route', 'flush', 'dev', device]),
      ...ordered.map((route) => [
        'route',
        'replace',
        route.dest || 'default',
        ...(route.gateway ? ['via', route.gateway] : []),
        'dev',
        route.device,
        ...(route.source ? ['src', route.source] : []),
      ]),
    ]);
    return this.listRoutes();
  }

  async addArpNeighbors(neighbors: readonly ARPNeighbor[]): Promise<void> {
    const commands = neighbors.map((neighbor) => {
      const to = neighbor.toIpAddress;
      if (!to || !isIp(to.address)) throw invalid('neighbor needs a valid to_ip_address');
      if (!MAC.test(neighbor.llAddr.toLowerCase())) throw invalid(`invalid ll_addr "${neighbor.llAddr}"`);
      if (!IFNAME.test(neighbor.device)) throw invalid(`invalid device "${neighbor.device}"`);
      return ['neigh', 'replace', to.address, 'lladdr', neighbor.llAddr.toLowerCase(), 'dev', neighbor.device, 'nud', 'permanent'];
    });
    await this.ip(commands);
  }

  async listInterfaces(): Promise<Interface[]> {
    const addresses = networkInterfaces();
    const result: Interface[] = [];
    for (const name of (await readdir(this.paths.sysClassNet)).sort()) {
      const [hwAddr, mtu] = await Promise.all([
        readSys(join(this.paths.sysClassNet, name, 'address')),
        readSys(join(this.paths.sysClassNet, name, 'mtu')),
      ]);
      const ipAddresses: IPAddress[] = (addresses[name] ?? []).map((info) => ({
        family: info.family === 'IPv4' ? '4' : '6',
        address: info.address,
        mask: String(Number((info.cidr ?? '/0').split('/')[1])),
      }));
      result.push({ device: name, name, hwAddr, mtu: Number(mtu) || 0, ipAddresses });
    }
    return result;
  }

  /** IPv4 routes from /proc/net/route (addresses there are little-endian hex). */
  async listRoutes(): Promise<Route[]> {
    const lines = (await readFile(this.paths.procNetRoute, 'utf8')).split('\n').slice(1).filter(Boolean);
    return lines.map((line) => {
      const [device, dest, gateway, , , , , mask] = line.trim().split(/\s+/);
      const prefix = countBits(hexToIp(mask));
      const destIp = hexToIp(dest);
      const gw = hexToIp(gateway);
      return {
        device,
        dest: destIp === '0.0.0.0' && prefix === 0 ? 'default' : `${destIp}/${prefix}`,
        gateway: gw === '0.0.0.0' ? '' : gw,
        source: '',
      };
    });
  }

  /**
   * The NIC to update: the one with `mac`, else (`device` given) the one named `device`, whose
   * MAC `oldMac` is then to be replaced; without `device`, waits for `mac` to appear (a NIC
   * being hot-plugged).
   */
  private async linkFor(mac: string, device: string): Promise<{ current: string; oldMac?: string }> {
    if (device !== '') {
      if (!IFNAME.test(device)) throw invalid(`invalid device "${device}"`);
      const byMac = await this.findLink(mac);
      if (byMac !== undefined) return { current: byMac };
      const oldMac = await readSys(join(this.paths.sysClassNet, device, 'address'));
      if (oldMac === '') throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `no interface with MAC ${mac} and none named ${device}`);
      return { current: device, oldMac };
    }
    return { current: await this.linkByMac(mac) };
  }

  private async linkByMac(mac: string): Promise<string> {
    const name = await pollFor(() => this.findLink(mac), this.linkWaitMs, LINK_POLL_MS);
    if (name === undefined) throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `no interface with MAC ${mac} within ${this.linkWaitMs} ms`);
    return name;
  }

  private async findLink(mac: string): Promise<string | undefined> {
    for (const name of await readdir(this.paths.sysClassNet)) {
      if ((await readSys(join(this.paths.sysClassNet, name, 'address'))) === mac) return name;
    }
    return undefined;
  }

  /** Runs `commands` (each the words after `ip`) in order, in one shell; the first that fails fails them all. */
  private async ip(commands: readonly (readonly string[])[]): Promise<void> {
    if (commands.length === 0) return;
    const result = await this.host.run('sh', ['-c', ipScript(commands)]);
    if (result.exitCode !== 0) {
      const said = commands.map((args) => `ip ${args.join(' ')}`).join('; ');
      throw new AgentError(AgentErrorCode.GUEST_SETUP_FAILED, `${said}: exit ${result.exitCode}: ${result.stderr}`);
    }
  }
}

function invalid(message: string): AgentError {
  return new AgentError(AgentErrorCode.INVALID_ARGUMENT, message);
}

function isIp(value: string): boolean {
  return IPV4.test(value) ? value.split('.').every((octet) => Number(octet) <= 255) : value.includes(':') && IPV6.test(value);
}

function cidrOf(address: IPAddress): string {
  const max = address.family === '6' ? 128 : 32;
  const mask = Number(address.mask);
  if (!isIp(address.address) || !Number.isInteger(mask) || mask < 0 || mask > max || address.mask === '') {
    throw invalid(`invalid address ${address.address}/${address.mask}`);
  }
  return `${address.address}/${mask}`;
}

function validateRoute(route: Route): void {
  if (!IFNAME.test(route.device)) throw invalid(`route needs a valid device, got "${route.device}"`);
  if (route.dest && route.dest !== 'default') {
    const [ip, prefix] = route.dest.split('/');
    if (!isIp(ip) || (prefix !== undefined && !/^\d{1,3}$/.test(prefix))) throw invalid(`invalid route destination "${route.dest}"`);
  }
  if (route.gateway && !isIp(route.gateway)) throw invalid(`invalid gateway "${route.gateway}"`);
  if (route.source && !isIp(route.source)) throw invalid(`invalid source "${route.source}"`);
}

async function readSys(path: string): Promise<string> {
  return (await readFile(path, 'utf8').catch(() => '')).trim();
}

function hexToIp(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

function countBits(ip: string): number {
  return ip.split('.').reduce((bits, octet) => bits + Number(octet).toString(2).replaceAll('0', '').length, 0);
}
