// A fleet on one machine (`npm start -- --nodes N`, the fleet e2e): each node agent runs in a
// network namespace of its own, which is its "host" — its own links, tenant bridges, routes and
// firewall — joined to this machine by a veth on one bridge, the virtual LAN, which also carries
// the tenant overlays between them.
// This machine holds the LAN's first address, where the control plane listens; it forwards and
// masquerades what the nodes send elsewhere, as a site's router would. Plain Node and iproute2.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/** LANs are /24s taken from here, the first one no route of this machine uses yet. */
const LAN_RANGE = '10.249';
/** Room for a VXLAN header (50 bytes) around a full 1500-byte tenant frame, as jumbo-frame LANs give. */
const LAN_MTU = 1550;
/** Node i (from 1) is `<lan>.<NODE_HOST_BASE + i>`; `<lan>.1` is this machine. */
const NODE_HOST_BASE = 10;

/**
 * @typedef {{ name: string, netns: string, address: string, index: number }} FleetNode
 * @typedef {{ bridge: string, subnet: string, hostAddress: string, nodes: FleetNode[],
 *   remove: () => void }} FleetLan
 */

/**
 * Creates the LAN and one namespace per node. `tag` (a number up to 5 digits, e.g. the API
 * port) keeps link and namespace names apart from another fleet's on the same machine.
 * `private` (CIDRs: the nodes' sandbox subnet pool) is refused at this machine's door: traffic
 * between sandboxes of different nodes crosses the LAN node to node, never out through here.
 * @param {{ tag: number, nodes: number, private: string[], log?: (msg: string) => void }} opts
 * @returns {FleetLan}
 */
export function createFleetLan({ tag, nodes, private: privateCidrs, log = () => undefined }) {
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 32) throw new Error(`--nodes: 1 to 32, not ${nodes}`);
  const bridge = `mf${tag}`;
  const prefix = freeLanPrefix();
  const subnet = `${prefix}.0/24`;
  const hostAddress = `${prefix}.1`;
  const table = `moat-fleet-${tag}`;
  /** @type {FleetNode[]} */
  const members = Array.from({ length: nodes }, (_, i) => ({
    index: i + 1,
    name: `node-${i + 1}`,
    netns: `moat-fleet-${tag}-node-${i + 1}`,
    address: `${prefix}.${NODE_HOST_BASE + i + 1}`,
  }));
  const remove = () => {
    for (const node of members) quietly('ip', ['netns', 'del', node.netns]);
    quietly('ip', ['link', 'del', bridge]);
    quietly('nft', ['delete', 'table', 'ip', table]);
  };
  try {
    ipBatch([`link add ${bridge} type bridge`, `addr add ${hostAddress}/24 dev ${bridge}`, `link set ${bridge} up`]);
    for (const node of members) {
      const hostEnd = `${bridge}n${node.index}`;
      run('ip', ['netns', 'add', node.netns]);
      ipBatch([`link add ${hostEnd} mtu ${LAN_MTU} type veth peer name eth0 mtu ${LAN_MTU} netns ${node.netns}`, `link set ${hostEnd} master ${bridge} up`]);
      ipBatch(['link set lo up', `addr add ${node.address}/24 dev eth0`, 'link set eth0 up', `route add default via ${hostAddress}`], node.netns);
    }
    // This machine routes for the nodes: to its own networks as they are, elsewhere masqueraded.
    writeFileSync('/proc/sys/net/ipv4/ip_forward', '1\n');
    run('nft', ['-f', '-'], [
      `table ip ${table} {`,
      '  chain forward {',
      '    type filter hook forward priority filter; policy accept;',
      ...privateCidrs.map((cidr) => `    iifname "${bridge}" ip daddr ${cidr} reject with icmp type net-unreachable`),
      '  }',
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      `    ip saddr ${subnet} oifname != "${bridge}" masquerade`,
      '  }',
      '}',
      '',
    ].join('\n'));
  } catch (error) {
    remove();
    throw error;
  }
  log(`fleet LAN ${subnet} on ${bridge}: ${members.map((n) => `${n.name} ${n.address}`).join(', ')}`);
  return { bridge, subnet, hostAddress, nodes: members, remove };
}

/** The command that runs `argv` in a node's namespace: only the network changes (no new mount namespace, unlike `ip netns exec`). */
export function inNodeNetns(node, argv) {
  return ['nsenter', `--net=/run/netns/${node.netns}`, '--', ...argv];
}

/** `10.249.<n>` for the first n whose /24 this machine has no route into. */
function freeLanPrefix() {
  const routes = execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  const used = new Set([...routes.matchAll(/(?<![\d.])(\d+\.\d+\.\d+)\.\d+/g)].map((match) => match[1]));
  for (let n = 0; n < 256; n++) {
    const prefix = `${LAN_RANGE}.${n}`;
    if (!used.has(prefix)) return prefix;
  }
  throw new Error(`no free /24 left in ${LAN_RANGE}.0.0/16 for a fleet LAN`);
}

function ipBatch(lines, netns) {
  run('ip', [...(netns ? ['-n', netns] : []), '-batch', '-'], `${lines.join('\n')}\n`);
}

function run(command, args, input) {
  try {
    execFileSync(command, args, { input, stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (error) {
    throw new Error(`${command} ${args.join(' ')}: ${error.stderr?.toString().trim() || error.message}`);
  }
}

function quietly(command, args) {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
  } catch {
    // already gone
  }
}
