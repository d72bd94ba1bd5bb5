import { z } from 'zod';
import { NetworkError, NetworkErrorCode, withNetworkError } from '../errors/network.errors';
import { pathExists } from '../host/fs.helpers';
import { NETNS_DIR, type NetAdapter } from '../host/net.adapter';
import type { TunAdapter } from '../host/tun.adapter';
import { redirectThroughTap, TC_TAP } from './models/tc-filter.model';
import type { GuestNetConfig, NetworkState } from './network.types';

/**
 * A pod's VM joins the network namespace CRI's CNI set up for the pod, as Kata does: a tap in
 * that netns with every frame redirected between it and the pod's interface (tcfilter), and the
 * guest's eth0 given that interface's MAC, addresses and routes. The netns, its interface and its
 * addresses stay CRI's: leaving removes only the tap and the redirect.
 */

const addressesSchema = z.array(
  z.object({
    ifname: z.string(),
    address: z.string().optional(),
    link_type: z.string().optional(),
    addr_info: z.array(z.object({ family: z.string(), local: z.string(), prefixlen: z.number().int(), scope: z.string().optional() })).default([]),
  }),
);
const routesSchema = z.array(z.object({ dst: z.string(), gateway: z.string().optional(), dev: z.string().optional() }));

/** The pod's interface: the one that is not loopback and has an address. */
export async function readPodInterface(net: NetAdapter, netns: string): Promise<{ ifname: string; guest: GuestNetConfig }> {
  const links = addressesSchema.parse(JSON.parse(await net.ip(['-j', 'address', 'show'], netns)));
  const link = links.find((l) => l.link_type === 'ether' && l.ifname !== TC_TAP && l.address && l.addr_info.some((a) => a.family === 'inet'));
  if (!link?.address) throw new NetworkError(NetworkErrorCode.CNI_RESULT_INVALID, `netns ${netns} has no Ethernet interface with an IPv4 address`);
  const addresses = link.addr_info
    .filter((a) => a.family === 'inet' || (a.family === 'inet6' && a.scope === 'global'))
    .map((a) => ({ address: a.local, prefix: a.prefixlen, family: a.family === 'inet' ? ('4' as const) : ('6' as const) }));
  const routes = routesSchema
    .parse(JSON.parse(await net.ip(['-j', 'route', 'show', 'dev', link.ifname], netns)))
    .flatMap((r) => (r.gateway ? [{ dest: r.dst === 'default' ? '0.0.0.0/0' : r.dst, gateway: r.gateway }] : []));
  return { ifname: link.ifname, guest: { mac: link.address.toLowerCase(), addresses, routes, dns: [] } };
}

/**
 * Plumbs the VM's NIC into the pod's netns, pinned as `netns` for the sandbox's lifetime (CRI may
 * drop its own pin first); the state, saved before the pin, records what {@link leavePodNetns} undoes.
 */
export async function joinPodNetns(
  net: NetAdapter,
  tun: TunAdapter,
  req: { sandboxId: string; netnsPath: string; netns: string },
  save: (state: NetworkState) => Promise<void>,
): Promise<{ state: NetworkState; nicFd: number }> {
  const { sandboxId, netnsPath, netns } = req;
  if (!(await pathExists(netnsPath))) throw new NetworkError(NetworkErrorCode.NETNS_FAILED, `the pod's netns ${netnsPath} does not exist`);
  const state: NetworkState = { model: 'tcfilter', tenantId: '', ports: [], pod: { netns, ifname: '' } };
  await save(state);
  await withNetworkError(NetworkErrorCode.NETNS_FAILED, `pin the pod's netns ${netnsPath}`, () => net.pinNetns(netnsPath, netns));
  const { ifname, guest } = await withNetworkError(NetworkErrorCode.NETNS_FAILED, `read the pod's interface in ${netnsPath}`, () => readPodInterface(net, netns));
  state.pod = { netns, ifname };
  await save(state);
  const nicFd = await redirectThroughTap(net, tun, sandboxId, netns, ifname);
  state.nic = { mac: guest.mac };
  state.guest = guest;
  return { state, nicFd };
}

/** Removes the tap and the redirect from the pod's netns and unpins it; idempotent. */
export async function leavePodNetns(net: NetAdapter, pod: { netns: string; ifname: string }): Promise<void> {
  if (!(await pathExists(`${NETNS_DIR}/${pod.netns}`))) return;
  // Only what the join made is undone: a crash before the interface was known made no tap and no
  // redirect (and may have left a pin that holds no netns, which `ip -n` could not enter).
  if (pod.ifname) {
    const present = addressesSchema.parse(JSON.parse(await net.ip(['-j', 'address', 'show'], pod.netns))).map((l) => l.ifname);
    if (present.includes(TC_TAP)) await net.ip(['link', 'del', TC_TAP], pod.netns);
    // Without the tap, the interface's redirect has nowhere to go: its ingress qdisc goes too (a
    // release after a crash may find it gone already: nothing to undo then).
    if (present.includes(pod.ifname)) await net.tcBatch([`qdisc del dev ${pod.ifname} ingress`], pod.netns).catch(() => undefined);
  }
  await net.unpinNetns(pod.netns);
}
