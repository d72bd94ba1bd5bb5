import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { IprouteNetAdapter } from '../../src/host/net.adapter';
import { NodeProcessAdapter } from '../../src/host/process.adapter';
import { TenantOverlay, VXLAN_OVERHEAD, type OverlaySpec } from '../../src';

// Three "nodes" (network namespaces) on a LAN of their own, each with tenant bridges and
// "sandboxes" (namespaces on a veth into the bridge), joined by TenantOverlay's VXLAN links.
// Every packet stays in namespaces this file creates; afterAll removes them all.
const TAG = `ov${process.pid % 100000}`;
const LAN = `${TAG}-lan`;
const UNDERLAY_MTU = 1550;
const node = (i: number) => ({ ns: `${TAG}-n${i}`, address: `10.248.0.${10 + i}` });
const NODES = [1, 2, 3].map(node);
const TENANT_A = { vni: 100, bridge: 'tena', link: 'tenavx' };
const TENANT_B = { vni: 200, bridge: 'tenb', link: 'tenbvx' };
/** Sandbox namespaces: name, node index, tenant, address (one /24 per tenant across the nodes). */
const SANDBOXES = [
  { ns: `${TAG}-a1`, on: 1, tenant: TENANT_A, address: '10.247.0.11' },
  { ns: `${TAG}-a2`, on: 2, tenant: TENANT_A, address: '10.247.0.12' },
  { ns: `${TAG}-a3`, on: 3, tenant: TENANT_A, address: '10.247.0.13' },
  { ns: `${TAG}-b2`, on: 2, tenant: TENANT_B, address: '10.247.0.22' },
];

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
/** A reply to any of three pings: the first may go while an address that failed to resolve before is still being retried. */
const reaches = (from: string, to: string) => spawnSync('ip', ['netns', 'exec', from, 'busybox', 'ping', '-c', '3', '-W', '1', to], { stdio: 'ignore' }).status === 0;
const spec = (tenant: typeof TENANT_A, on: number, peers: number[]): OverlaySpec => ({
  ...tenant,
  localAddress: node(on).address,
  peers: peers.map((i) => node(i).address),
  mtu: UNDERLAY_MTU - VXLAN_OVERHEAD,
});

describe('tenant overlays across nodes (VXLAN) on real Linux', () => {
  const net = new IprouteNetAdapter(new NodeProcessAdapter());
  const overlay = (i: number) => new TenantOverlay(net, node(i).ns);

  beforeAll(() => {
    ip('netns', 'add', LAN);
    ip('-n', LAN, 'link', 'add', 'lan', 'type', 'bridge');
    ip('-n', LAN, 'link', 'set', 'lan', 'up');
    for (const [i, n] of NODES.entries()) {
      ip('netns', 'add', n.ns);
      ip('-n', n.ns, 'link', 'add', 'eth0', 'mtu', String(UNDERLAY_MTU), 'type', 'veth', 'peer', 'name', `p${i}`, 'mtu', String(UNDERLAY_MTU), 'netns', LAN);
      ip('-n', LAN, 'link', 'set', `p${i}`, 'master', 'lan', 'up');
      ip('-n', n.ns, 'addr', 'add', `${n.address}/24`, 'dev', 'eth0');
      ip('-n', n.ns, 'link', 'set', 'eth0', 'up');
      for (const tenant of [TENANT_A, TENANT_B]) {
        ip('-n', n.ns, 'link', 'add', tenant.bridge, 'type', 'bridge');
        ip('-n', n.ns, 'link', 'set', tenant.bridge, 'up');
      }
    }
    for (const [i, s] of SANDBOXES.entries()) {
      const host = node(s.on).ns;
      ip('netns', 'add', s.ns);
      ip('-n', host, 'link', 'add', `s${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', s.ns);
      ip('-n', host, 'link', 'set', `s${i}`, 'master', s.tenant.bridge, 'up');
      ip('-n', s.ns, 'addr', 'add', `${s.address}/24`, 'dev', 'eth0');
      ip('-n', s.ns, 'link', 'set', 'eth0', 'up');
    }
  });

  afterAll(() => {
    for (const ns of [...SANDBOXES.map((s) => s.ns), ...NODES.map((n) => n.ns), LAN]) spawnSync('ip', ['netns', 'del', ns]);
  });

  it('joins a tenant on two nodes: their sandboxes reach each other, a third node\'s do not', async () => {
    await overlay(1).ensure(spec(TENANT_A, 1, [2]));
    await overlay(2).ensure(spec(TENANT_A, 2, [1]));
    expect(reaches(`${TAG}-a1`, '10.247.0.12')).toBe(true);
    expect(reaches(`${TAG}-a1`, '10.247.0.13')).toBe(false);
    // Idempotent: the same spec again changes nothing.
    await overlay(1).ensure(spec(TENANT_A, 1, [2]));
    expect(await overlay(1).floodPeers(TENANT_A.link)).toEqual([node(2).address]);
  });

  it('extends to a new peer, and keeps another tenant, on its own VNI, out of reach', async () => {
    await overlay(3).ensure(spec(TENANT_A, 3, [1, 2]));
    await overlay(1).ensure(spec(TENANT_A, 1, [2, 3]));
    await overlay(2).ensure(spec(TENANT_A, 2, [1, 3]));
    expect((await overlay(1).floodPeers(TENANT_A.link)).sort()).toEqual([node(2).address, node(3).address]);
    expect(reaches(`${TAG}-a1`, '10.247.0.13')).toBe(true);
    expect(reaches(`${TAG}-a3`, '10.247.0.12')).toBe(true);

    await overlay(2).ensure(spec(TENANT_B, 2, [1]));
    await overlay(1).ensure(spec(TENANT_B, 1, [2]));
    expect(reaches(`${TAG}-a1`, '10.247.0.22')).toBe(false);
    expect(reaches(`${TAG}-b2`, '10.247.0.11')).toBe(false);
  });

  it('shrinks when a node no longer holds the tenant, and rebuilds a link whose VNI changed', async () => {
    await overlay(1).ensure(spec(TENANT_A, 1, [2]));
    expect(await overlay(1).floodPeers(TENANT_A.link)).toEqual([node(2).address]);
    expect(reaches(`${TAG}-a1`, '10.247.0.12')).toBe(true);

    await overlay(2).ensure({ ...spec(TENANT_A, 2, [1]), vni: 101 });
    expect(execFileSync('ip', ['-n', node(2).ns, '-d', 'link', 'show', TENANT_A.link], { encoding: 'utf8' })).toContain('vxlan id 101');
    expect(reaches(`${TAG}-a1`, '10.247.0.12')).toBe(false);
  });

  it('removes the link and its peers, and refuses a VNI out of range', async () => {
    await overlay(1).remove(TENANT_A.link);
    await overlay(1).remove(TENANT_A.link);
    expect(spawnSync('ip', ['-n', node(1).ns, 'link', 'show', TENANT_A.link]).status).not.toBe(0);
    await expect(overlay(1).ensure({ ...spec(TENANT_A, 1, [2]), vni: 0 })).rejects.toThrow(RangeError);
  });
});
