import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { NetAdapter } from '../host/net.adapter';
import type { TunAdapter } from '../host/tun.adapter';
import type { NetworkState } from './network.types';
import { joinPodNetns, readPodInterface } from './pod-netns';

/** What `ip -j address show` prints in a pod's netns as CRI's bridge plugin leaves it. */
const ADDRESSES = [
  { ifname: 'lo', link_type: 'loopback', address: '00:00:00:00:00:00', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }] },
  {
    ifname: 'eth0',
    link_type: 'ether',
    address: '0A:58:0A:FC:07:02',
    addr_info: [
      { family: 'inet', local: '10.252.7.2', prefixlen: 24, scope: 'global' },
      { family: 'inet6', local: 'fe80::858:aff:fefc:702', prefixlen: 64, scope: 'link' },
    ],
  },
];
const ROUTES = [
  { dst: 'default', gateway: '10.252.7.1', dev: 'eth0' },
  { dst: '10.252.7.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '10.252.7.2' },
];

/** iproute2 as the pod's netns answers it; every change is recorded. */
function fakeNet(calls: string[]): NetAdapter {
  const none = () => Promise.reject(new Error('not used here'));
  return {
    ip: (args, netns) => {
      calls.push(`ip -n ${netns} ${args.join(' ')}`);
      if (args.includes('address')) return Promise.resolve(JSON.stringify(ADDRESSES));
      if (args.includes('route')) return Promise.resolve(JSON.stringify(ROUTES));
      return Promise.resolve('');
    },
    ipBatch: (lines, netns) => {
      calls.push(...lines.map((line) => `ip${netns ? ` -n ${netns}` : ''} ${line}`));
      return Promise.resolve();
    },
    tcBatch: (lines, netns) => {
      calls.push(...lines.map((line) => `tc -n ${netns} ${line}`));
      return Promise.resolve();
    },
    pinNetns: (path, name) => {
      calls.push(`pin ${path} as ${name}`);
      return Promise.resolve();
    },
    unpinNetns: none,
    bridge: none,
    iptables: none,
    nft: none,
    inNetns: none,
    mknod: none,
    enableIpv4Forwarding: none,
    forgetFlows: none,
    linkExists: none,
  };
}

const tun: TunAdapter = { openTap: () => 42, close: () => undefined };

describe('a pod VM in the netns CRI set up', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pod-netns-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("gives the guest the pod interface's MAC, addresses and routes, but not its link-local address", async () => {
    await expect(readPodInterface(fakeNet([]), 'moat-x')).resolves.toEqual({
      ifname: 'eth0',
      guest: { mac: '0a:58:0a:fc:07:02', addresses: [{ address: '10.252.7.2', prefix: 24, family: '4' }], routes: [{ dest: '0.0.0.0/0', gateway: '10.252.7.1' }], dns: [] },
    });
  });

  it('pins the netns under its own name, saves what it holds before each step, and redirects the tap to the pod interface', async () => {
    const netnsPath = join(dir, 'cni-1');
    writeFileSync(netnsPath, '');
    const calls: string[] = [];
    const saved: NetworkState[] = [];
    const joined = await joinPodNetns(fakeNet(calls), tun, { sandboxId: '0b5e7a4c-1d2f-4a3b-8c9d-0e1f2a3b4c5d', netnsPath, netns: 'moat-0b5e' }, (state) => {
      saved.push(structuredClone(state));
      return Promise.resolve();
    });
    expect(joined.nicFd).toBe(42);
    expect(joined.state).toMatchObject({ model: 'tcfilter', pod: { netns: 'moat-0b5e', ifname: 'eth0' }, nic: { mac: '0a:58:0a:fc:07:02' } });
    expect(saved.map((s) => s.pod)).toEqual([{ netns: 'moat-0b5e', ifname: '' }, { netns: 'moat-0b5e', ifname: 'eth0' }]);
    expect(calls[0]).toBe(`pin ${netnsPath} as moat-0b5e`);
    expect(calls).toContain('tc -n moat-0b5e filter add dev eth0 parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev tap0');
    expect(calls).toContain('tc -n moat-0b5e filter add dev tap0 parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev eth0');
  });

  it('refuses a netns that is not there, before it pins or saves anything', async () => {
    const saved: NetworkState[] = [];
    await expect(
      joinPodNetns(fakeNet([]), tun, { sandboxId: 'x', netnsPath: join(dir, 'gone'), netns: 'moat-x' }, (state) => {
        saved.push(state);
        return Promise.resolve();
      }),
    ).rejects.toMatchObject({ code: 'NETNS_FAILED' });
    expect(saved).toEqual([]);
  });
});
