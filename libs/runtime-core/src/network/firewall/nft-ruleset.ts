import type { EgressPolicy } from '@moat/proto';
import { z } from 'zod';
import { VXLAN_PORT, type OverlayFence } from '../overlay/tenant-overlay';
import { canonicalCidr } from '../tenants/tenant-networks';

/** One sandbox's place in the node's firewall. */
export const sandboxFenceSchema = z.object({
  /** Its tenant's bridge. */
  bridge: z.string(),
  /** The link its frames enter the bridge through (CNI's veth host end, or the bridge model's tap). */
  bridgePort: z.string(),
  ip: z.string(),
  mac: z.string(),
  /** Its resolvers: DNS to them passes whatever the egress policy says. */
  dns: z.array(z.string()),
  egress: z
    .object({ default: z.enum(['allow', 'deny']), allow: z.array(z.string()).optional(), deny: z.array(z.string()).optional() })
    .optional(),
});
export type SandboxFence = z.infer<typeof sandboxFenceSchema>;

/** What the node's firewall is rendered from. */
export interface RulesetInput {
  /** Names the tables (`inet <name>`, `bridge <name>`) and prefixes the bridges: `<name>*`. */
  bridgePrefix: string;
  /** The tenants' address pool, masqueraded on its way out. */
  subnetPool: string;
  /** Every fenced sandbox on the node, by id. */
  sandboxes: Record<string, SandboxFence>;
  /** The node's tenant overlays: their VXLAN is taken from their peers only. */
  overlay?: OverlayFence;
}

/** Link-local addresses: cloud metadata services and the like live there. */
const LINK_LOCAL = '169.254.0.0/16';

/** The table names a node agent with this bridge prefix owns. */
export function firewallTables(bridgePrefix: string): { inet: string; bridge: string } {
  const name = bridgePrefix.replaceAll('-', '_');
  return { inet: `inet ${name}`, bridge: `bridge ${name}` };
}

/**
 * The whole firewall of a node as one nftables script: both tables are deleted and rebuilt in
 * one transaction, so the kernel holds either the old rule set or the new one, never half of
 * either, and a crash never leaves a half-built one. With no sandbox left, the tables go.
 *
 * inet table (addresses; sees bridged frames too where br_netfilter is loaded):
 *  - input: VXLAN with a tenant overlay's VNI comes only from that overlay's peers; a guest
 *    reaches no port of the node — only replies to what the node sent it, pings, and DNS to a
 *    resolver it was given;
 *  - forward: never link-local, never IPv6 (sandboxes have none), a tenant's own bridge yes,
 *    another tenant's bridge no, no VXLAN towards other nodes (a guest would inject frames into
 *    any tenant's overlay), then each sandbox's egress policy (replies always pass); from
 *    outside, only published ports (DNAT) and replies reach a sandbox;
 *  - postrouting: the pool is masqueraded towards anything but a Moat bridge, so every network
 *    model reaches the outside.
 * bridge table (frames): a sandbox's port carries only its own MAC and IPv4 address, so no guest
 * borrows another's address, and with it another's egress policy; the node sends nothing out of
 * a tenant's overlay port (`<prefix>v<n>`, see TenantNetworks).
 */
export function renderRuleset(input: RulesetInput): string {
  const tables = firewallTables(input.bridgePrefix);
  // `add` first makes the `delete` valid when the table does not exist yet.
  const reset = [`add table ${tables.inet}`, `delete table ${tables.inet}`, `add table ${tables.bridge}`, `delete table ${tables.bridge}`];
  const ids = Object.keys(input.sandboxes).sort();
  if (ids.length === 0) return `${reset.join('\n')}\n`;
  const bridges = input.bridgePrefix;
  const moat = `iifname "${bridges}*"`;
  const outside = `iifname != "${bridges}*" oifname "${bridges}*"`;
  const fences = ids.map((id) => ({ id, fence: input.sandboxes[id] }));
  const tenantBridges = [...new Set(fences.map(({ fence }) => fence.bridge))].sort();

  const overlay = input.overlay && input.overlay.vnis.length > 0 ? input.overlay : undefined;
  const input_ = [
    'type filter hook input priority filter - 10; policy accept;',
    // The VNI is the 24 bits after the UDP header (8 bytes) and VXLAN's flags (4).
    ...(overlay
      ? [`udp dport ${VXLAN_PORT} @th,96,24 ${set(overlay.vnis.map(String))} ${overlay.peers.length > 0 ? `ip saddr != ${set(overlay.peers)} ` : ''}counter drop comment "tenant overlays only from their nodes"`]
      : []),
    `${moat} ct state established,related accept`,
    `${moat} icmp type echo-request limit rate 10/second accept`,
    ...fences.flatMap(({ fence }) => (fence.dns.length > 0 ? [`iifname "${fence.bridge}" ip saddr ${fence.ip} ip daddr ${set(fence.dns)} meta l4proto { tcp, udp } th dport 53 accept`] : [])),
    `${moat} counter drop comment "no road from a guest to the node"`,
  ];
  const forward = [
    'type filter hook forward priority filter - 10; policy accept;',
    `${moat} ip daddr ${LINK_LOCAL} counter drop comment "link-local"`,
    `${moat} meta nfproto ipv6 drop`,
    ...tenantBridges.map((bridge) => `iifname "${bridge}" oifname "${bridge}" accept`),
    `${moat} oifname "${bridges}*" counter drop comment "another tenant"`,
    `${moat} udp dport ${VXLAN_PORT} counter drop comment "no frames into the fleet's overlays"`,
    `${outside} ct state established,related accept`,
    `${outside} ct status dnat accept`,
    `${outside} counter drop comment "from outside, published ports only"`,
    ...fences.filter(({ fence }) => fence.egress).map(({ id, fence }) => `iifname "${fence.bridge}" ip saddr ${fence.ip} jump ${egressChain(id)}`),
  ];
  const egressChains = fences.flatMap(({ id, fence }) => (fence.egress ? [chain(egressChain(id), egressRules(fence, fence.egress))] : []));
  const postrouting = [
    'type nat hook postrouting priority srcnat; policy accept;',
    `ip saddr ${canonical(input.subnetPool)} oifname != "${bridges}*" masquerade`,
  ];
  const antiSpoof = [
    'type filter hook prerouting priority filter; policy accept;',
    ...fences.flatMap(({ fence }) => {
      const port = `iifname "${fence.bridgePort}"`;
      return [
        `${port} ether saddr != ${fence.mac} drop`,
        `${port} ether type ip ip saddr != ${fence.ip} drop`,
        `${port} ether type arp arp saddr ip != ${fence.ip} drop`,
        `${port} ether type ip6 drop`,
      ];
    }),
  ];
  // The node's own frames stay on its segments: it answers for the anycast gateway on every
  // node, and its answers must not reach the others' guests through the overlay ports.
  const overlayPorts = [
    'type filter hook output priority filter; policy accept;',
    `oifname "${bridges}v*" counter drop comment "the node keeps off other nodes' segments"`,
  ];
  return [
    ...reset,
    `table ${tables.inet} {`,
    chain('input', input_),
    chain('forward', forward),
    ...egressChains,
    chain('postrouting', postrouting),
    '}',
    `table ${tables.bridge} {`,
    chain('prerouting', antiSpoof),
    chain('output', overlayPorts),
    '}',
    '',
  ].join('\n');
}

/** A sandbox's egress chain: replies and DNS to its resolvers pass, then deny, allow, the default. */
function egressRules(fence: SandboxFence, egress: EgressPolicy): string[] {
  return [
    'ct state established,related accept',
    ...(fence.dns.length > 0 ? [`ip daddr ${set(fence.dns)} meta l4proto { tcp, udp } th dport 53 accept`] : []),
    ...((egress.deny ?? []).length > 0 ? [`ip daddr ${set((egress.deny ?? []).map(canonical))} drop`] : []),
    ...((egress.allow ?? []).length > 0 ? [`ip daddr ${set((egress.allow ?? []).map(canonical))} accept`] : []),
    egress.default === 'deny' ? 'counter drop comment "egress policy"' : 'accept',
  ];
}

/** One egress chain per fenced sandbox, named by its id. */
function egressChain(id: string): string {
  return `egress_${id.replaceAll('-', '')}`;
}

function chain(name: string, rules: string[]): string {
  return [`\tchain ${name} {`, ...rules.map((rule) => `\t\t${rule}`), '\t}'].join('\n');
}

function set(values: readonly string[]): string {
  return `{ ${[...new Set(values)].join(', ')} }`;
}

/** nft refuses a CIDR with host bits set: `10.1.2.3/8` becomes `10.0.0.0/8`. */
function canonical(cidr: string): string {
  return cidr.includes('/') ? canonicalCidr(cidr) : cidr;
}
