import { randomUUID } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEFAULT_CONFLIST, gatewayMac, NETWORK_MODELS, NetworkErrorCode, SandboxNetworks, sandboxTapName, netnsName, type NetworkOptions, type NetworkState } from '../../src';

// Real netns, links, CNI plugins and iptables, no VM. A prefix and pool of its own keep the
// test off the host's networks; everything is removed in afterAll even if a test fails.
const PREFIX = `mti${process.pid % 10000}`;
const POOL = '10.253.0.0/16';

function leaks(stateDir: string, ids: string[]): string[] {
  const found: string[] = [];
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
  for (const id of ids) {
    if (netns.includes(netnsName(id))) found.push(`netns ${netnsName(id)}`);
    if (existsSync(`/sys/class/net/${sandboxTapName(id)}`)) found.push(`tap ${sandboxTapName(id)}`);
  }
  for (const link of readdirSync('/sys/class/net')) if (link.startsWith(PREFIX)) found.push(`bridge ${link}`);
  const rules = execFileSync('iptables-save', { encoding: 'utf8' });
  for (const line of rules.split('\n')) if (ids.some((id) => line.includes(id))) found.push(`iptables ${line}`);
  const tables = execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });
  for (const line of tables.split('\n')) if (line.endsWith(` ${PREFIX}`)) found.push(`nft ${line}`);
  const walk = (dir: string): string[] =>
    existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)])) : [];
  for (const file of [...walk(join(stateDir, 'ipam')), ...walk(join(stateDir, 'cni-cache'))]) {
    if (ids.some((id) => readFileSync(file, 'utf8').includes(id) || file.includes(id))) found.push(`file ${file}`);
  }
  return found;
}

describe('sandbox networks on real Linux', () => {
  let dir: string;
  let options: NetworkOptions;
  const ids: string[] = [];
  const runDir = (id: string) => {
    const path = join(dir, 'run', id);
    mkdirSync(path, { recursive: true });
    return path;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moat-net-'));
    options = { stateDir: join(dir, 'network'), bridgePrefix: PREFIX, subnetPool: POOL };
  });

  afterAll(() => {
    // Belt and braces: whatever a failed assertion left behind goes.
    const netns = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
    for (const id of ids) if (netns.includes(netnsName(id))) execFileSync('ip', ['netns', 'del', netnsName(id)]);
    for (const link of readdirSync('/sys/class/net')) if (link.startsWith(PREFIX)) execFileSync('ip', ['link', 'del', link]);
    for (const family of ['inet', 'bridge']) spawnSync('nft', ['delete', 'table', family, PREFIX]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it.each(NETWORK_MODELS)('%s: plumbs a VM NIC with the CNI address, isolates tenants, and releases everything', async (model) => {
    const networks = await SandboxNetworks.create(options);
    const a = randomUUID();
    const b = randomUUID();
    ids.push(a, b);
    const save = () => Promise.resolve();
    const attachedA = await networks.attach({ sandboxId: a, tenantId: 'tenant-a', spec: { model, ports: [{ containerPort: 80, protocol: 'tcp' }] }, runDir: runDir(a), dnsServers: [] }, save);
    const attachedB = await networks.attach({ sandboxId: b, tenantId: 'tenant-b', spec: { model, ports: [] }, runDir: runDir(b), dnsServers: [] }, save);
    const [sa, sb] = [attachedA.state, attachedB.state];
    // The VMM would hold the NIC; the test checks what the descriptor is and lets it go.
    const fdTarget = (fd: number) => readlinkSync(`/proc/self/fd/${fd}`);
    expect(fdTarget(attachedA.nicFd)).toEqual(model === 'macvtap' ? expect.stringMatching(/macvtap|^\/dev\/tap/) : '/dev/net/tun');

    expect(sa.guest?.addresses[0].address).toMatch(/^10\.253\.\d+\.\d+$/);
    expect(sa.guest?.routes).toEqual([{ dest: '0.0.0.0/0', gateway: expect.stringMatching(/\.1$/) }]);
    expect(sa.guest?.addresses[0].address.split('.')[2]).not.toBe(sb.guest?.addresses[0].address.split('.')[2]);
    expect(sa.ports).toEqual([{ containerPort: 80, hostPort: expect.any(Number), protocol: 'tcp' }]);
    expect(execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' })).toContain(`--dport ${sa.ports[0].hostPort}`);
    // The node's firewall: tenants apart, the node out of reach, every model masqueraded out,
    // and each sandbox's bridge port carrying its own addresses only.
    const inet = execFileSync('nft', ['list', 'table', 'inet', PREFIX], { encoding: 'utf8' });
    expect(inet).toContain(`iifname "${PREFIX}*" oifname "${PREFIX}*" counter packets`);
    expect(inet).toMatch(new RegExp(`iifname "${PREFIX}\\*" counter packets \\d+ bytes \\d+ drop comment "no road from a guest to the node"`));
    expect(inet).toContain(`ip saddr ${POOL} oifname != "${PREFIX}*" masquerade`);
    const bridge = execFileSync('nft', ['list', 'table', 'bridge', PREFIX], { encoding: 'utf8' });
    expect(bridge).toContain(`iifname "${sa.nic?.bridgePort}" ip saddr != ${sa.guest?.addresses[0].address} drop`);
    if (model === 'bridge') {
      expect(sa.nic).toEqual({ bridgePort: sandboxTapName(a), mac: sa.guest?.mac });
      expect(readFileSync(`/sys/class/net/${sandboxTapName(a)}/master/uevent`, 'utf8')).toContain(`INTERFACE=${PREFIX}`);
    } else {
      // The sandbox's port on the tenant bridge is the host end of CNI's veth.
      expect(readFileSync(`/sys/class/net/${sa.nic?.bridgePort}/master/uevent`, 'utf8')).toContain(`INTERFACE=${PREFIX}`);
      const links = execFileSync('ip', ['-n', netnsName(a), '-o', 'link'], { encoding: 'utf8' });
      expect(links).toContain(model === 'tcfilter' ? 'tap0' : 'mvtap0');
      expect(links).toContain(sa.guest?.mac);
      if (model === 'tcfilter') {
        expect(execFileSync('tc', ['-n', netnsName(a), 'filter', 'show', 'dev', 'eth0', 'ingress'], { encoding: 'utf8' })).toContain('Redirect to device tap0');
      }
    }

    networks.releaseNicFd(attachedA.nicFd);
    networks.releaseNicFd(attachedB.nicFd);
    // A restarted node agent has only the on-disk state: a fresh instance must release it all.
    const restarted = await SandboxNetworks.create(options);
    await restarted.detach(a, sa, runDir(a));
    await restarted.detach(b, sb, runDir(b));
    expect(leaks(options.stateDir, [a, b])).toEqual([]);
  });

  it("takes the control plane's plan: its address and anycast gateway, an overlay port while peers exist, none after", async () => {
    const networks = await SandboxNetworks.create(options);
    const plan = { vni: 4242, subnet: '10.253.200.0/24', gateway: '10.253.200.1' };
    const [a, b] = [randomUUID(), randomUUID()];
    ids.push(a, b);
    const save = () => Promise.resolve();
    const attach = (id: string, address: string) =>
      networks.attach({ sandboxId: id, tenantId: 'tenant-p', spec: { model: 'tcfilter', ports: [], planned: { ...plan, address } }, runDir: runDir(id), dnsServers: [] }, save);
    const attachedA = await attach(a, '10.253.200.77');
    expect(attachedA.state.guest?.addresses).toEqual([{ address: '10.253.200.77', prefix: 24, family: '4' }]);
    expect(attachedA.state.guest?.routes).toEqual([{ dest: '0.0.0.0/0', gateway: '10.253.200.1' }]);
    const bridgeName = readFileSync(`/sys/class/net/${attachedA.state.nic?.bridgePort}/master/uevent`, 'utf8').match(/INTERFACE=(\S+)/)?.[1] ?? '';
    expect(readFileSync(`/sys/class/net/${bridgeName}/address`, 'utf8').trim()).toBe(gatewayMac(plan.vni));
    // Loopback stands in for the network between nodes: whatever the link floods stays on this host.
    await networks.setOverlayPeers('127.0.0.1', [{ tenantId: 'tenant-p', peers: ['127.0.0.2'] }]);
    const link = `${PREFIX}v${bridgeName.slice(PREFIX.length)}`;
    const details = JSON.parse(execFileSync('ip', ['-d', '-j', 'link', 'show', 'dev', link], { encoding: 'utf8' })) as { master: string; mtu: number; linkinfo: { info_data: { id: number } } }[];
    expect(details[0]).toMatchObject({ master: bridgeName, mtu: 1500, linkinfo: { info_data: { id: plan.vni } } });
    expect(execFileSync('bridge', ['fdb', 'show', 'dev', link], { encoding: 'utf8' })).toContain('00:00:00:00:00:00 dst 127.0.0.2');
    // A plan without peers (unchanged since last told) keeps them.
    await networks.setOverlayPeers('127.0.0.1', [{ tenantId: 'tenant-p' }]);
    expect(execFileSync('bridge', ['fdb', 'show', 'dev', link], { encoding: 'utf8' })).toContain('00:00:00:00:00:00 dst 127.0.0.2');
    expect(execFileSync('nft', ['list', 'table', 'bridge', PREFIX], { encoding: 'utf8' })).toContain(`oifname "${PREFIX}v*" counter packets`);
    // The node takes the overlay's VXLAN (VNI 4242, which nft shows in hex) from its peers only.
    expect(execFileSync('nft', ['list', 'table', 'inet', PREFIX], { encoding: 'utf8' })).toMatch(/udp dport 4789 @th,96,24 0x1092 ip saddr != 127\.0\.0\.2 counter packets \d+ bytes \d+ drop comment "tenant overlays only from their nodes"/);
    // A second sandbox of the tenant joins the same segment; another tenant may not take its subnet.
    const attachedB = await attach(b, '10.253.200.78');
    expect(attachedB.state.guest?.addresses[0].address).toBe('10.253.200.78');
    // The node knows its underlay now: the guest keeps to what the overlay carries (loopback's is large, so the NIC's 1500).
    expect(attachedB.state.guest?.mtu).toBe(1500);
    const error = await networks
      .attach({ sandboxId: randomUUID(), tenantId: 'tenant-q', spec: { model: 'tcfilter', ports: [], planned: { ...plan, vni: 4243, address: '10.253.200.9' } }, runDir: runDir(a), dnsServers: [] }, save)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: NetworkErrorCode.TENANT_NETWORK_FAILED, message: expect.stringContaining('held on this node by tenant tenant-p') });
    // No peers left: no overlay port.
    await networks.setOverlayPeers('127.0.0.1', []);
    expect(spawnSync('ip', ['link', 'show', 'dev', link]).status).not.toBe(0);
    await networks.setOverlayPeers('127.0.0.1', [{ tenantId: 'tenant-p', peers: ['127.0.0.2'] }]);
    networks.releaseNicFd(attachedA.nicFd);
    networks.releaseNicFd(attachedB.nicFd);
    await networks.detach(a, attachedA.state, runDir(a));
    await networks.detach(b, attachedB.state, runDir(b));
    expect(leaks(options.stateDir, [a, b])).toEqual([]);
  });

  it('releases the netns, lease and bridge when a plugin fails half-way through ADD', async () => {
    const networks = await SandboxNetworks.create({
      ...options,
      // portmap runs (rules in place), then the chain hits a plugin that is not installed.
      conflist: { ...DEFAULT_CONFLIST, plugins: [...DEFAULT_CONFLIST.plugins, { type: 'moat-no-such-plugin' }] },
    });
    const id = randomUUID();
    ids.push(id);
    let saved: NetworkState | undefined;
    const error = await networks
      .attach({ sandboxId: id, tenantId: 'tenant-a', spec: { model: 'tcfilter', ports: [{ containerPort: 80, protocol: 'tcp' }] }, runDir: runDir(id), dnsServers: [] }, (state) => {
        saved = structuredClone(state);
        return Promise.resolve();
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: NetworkErrorCode.CNI_PLUGIN_NOT_FOUND });
    expect(readdirSync(join(options.stateDir, 'ipam'), { recursive: true }).some((f) => /\d+\.\d+\.\d+\.\d+$/.test(String(f)))).toBe(true);
    expect(saved).toBeDefined();
    if (saved) await networks.detach(id, saved, runDir(id));
    expect(leaks(options.stateDir, [id])).toEqual([]);
  });
});
