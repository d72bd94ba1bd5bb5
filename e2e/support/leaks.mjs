// Finds host objects a Moat stack left behind: VMM, jail and virtiofsd processes, run dirs,
// sandbox dirs and mounts, restored VMs' RAM files, jail uid leases, host cgroups, network
// namespaces, links, IP leases and iptables rules. Everything
// Moat creates is named after its sandbox id or lives under its data dir, which is what makes
// this check possible.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { guestMemoryFiles, jailIdLeases, mounts, sandboxCgroups, vmmProcesses } from '../../tools/dev/host-objects.mjs';

export { vmmProcesses };

/** The tenant-bridge prefix e2e/run.mjs gives its stack (MOAT_NET_BRIDGE_PREFIX). */
export const E2E_BRIDGE_PREFIX = 'mte2e';

/** @param {string} dataDir @param {string[]} [sandboxIds] only these ids (default: any under dataDir) */
export function findLeaks(dataDir, sandboxIds = []) {
  const leaks = [];
  // Given ids, only their objects: the node's own processes (a boot snapshot being saved) are not a sandbox's.
  const mine = (text) => (sandboxIds.length === 0 ? text.includes(dataDir) : sandboxIds.some((id) => text.includes(id)));
  for (const process of vmmProcesses()) if (mine(process)) leaks.push(`process ${process.slice(0, 200)}`);
  const sandboxesDir = join(dataDir, 'node', 'sandboxes');
  if (existsSync(sandboxesDir)) {
    for (const id of readdirSync(sandboxesDir)) {
      if (sandboxIds.length === 0 || sandboxIds.includes(id)) leaks.push(`sandbox dir ${join(sandboxesDir, id)}`);
    }
  }
  for (const id of sandboxIds) {
    if (existsSync(join('/run/moat', id))) leaks.push(`run dir /run/moat/${id}`);
  }
  for (const mount of mounts()) if (mine(mount.target) || mine(mount.source)) leaks.push(`mount ${mount.target}`);
  for (const file of guestMemoryFiles()) if (sandboxIds.some((id) => file.includes(id))) leaks.push(`guest memory ${file}`);
  for (const lease of jailIdLeases()) if (sandboxIds.some((id) => lease.includes(id))) leaks.push(`jail uid lease ${lease}`);
  for (const cgroup of sandboxCgroups()) if (sandboxIds.some((id) => cgroup.endsWith(id))) leaks.push(`cgroup ${cgroup}`);
  leaks.push(...findNetworkLeaks(dataDir, sandboxIds));
  return leaks;
}

/**
 * Network objects: netns `moat-<id>`, taps `mt<id prefix>`, the e2e tenant bridges, host-local
 * leases (files holding the sandbox id), cached CNI results, iptables rules mentioning the
 * sandbox id (portmap's comments), and the sandbox's nftables rules (its egress chain, its
 * port's anti-spoofing rules) or, for the whole stack, the e2e firewall tables.
 * @param {string} dataDir @param {string[]} sandboxIds
 */
export function findNetworkLeaks(dataDir, sandboxIds = []) {
  const leaks = [];
  const mine = (text) => (sandboxIds.length === 0 ? false : sandboxIds.some((id) => text.includes(id)));
  const netnsDir = '/run/netns';
  if (existsSync(netnsDir)) {
    for (const ns of readdirSync(netnsDir)) if (mine(ns)) leaks.push(`netns ${ns}`);
  }
  const taps = sandboxIds.map((id) => `mt${id.replaceAll('-', '').slice(0, 13)}`);
  for (const link of readdirSync('/sys/class/net')) {
    if (taps.includes(link)) leaks.push(`link ${link}`);
    if (sandboxIds.length === 0 && link.startsWith(E2E_BRIDGE_PREFIX)) leaks.push(`bridge ${link}`);
  }
  const networkDir = join(dataDir, 'node', 'network');
  for (const sub of ['ipam', 'cni-cache']) {
    const dir = join(networkDir, sub);
    if (!existsSync(dir)) continue;
    for (const file of walk(dir)) {
      const text = readFileSync(file, 'utf8');
      if (sandboxIds.length === 0 ? /^\d+\.\d+\.\d+\.\d+$/.test(file.split('/').pop()) || sub === 'cni-cache' : mine(text) || mine(file)) {
        leaks.push(`${sub === 'ipam' ? 'lease' : 'CNI cache'} ${file}`);
      }
    }
  }
  let ruleset = '';
  try {
    ruleset = execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    // No nft: nothing Moat could have added either.
  }
  const chains = sandboxIds.map((id) => `egress_${id.replaceAll('-', '')}`);
  for (const line of ruleset.split('\n')) {
    if (chains.some((chain) => line.includes(chain)) || taps.some((tap) => line.includes(`"${tap}"`))) leaks.push(`nft rule ${line.trim()}`);
    if (sandboxIds.length === 0 && line.startsWith('table ') && line.includes(` ${E2E_BRIDGE_PREFIX} `)) leaks.push(`nft ${line.replace(' {', '')}`);
  }
  for (const table of ['filter', 'nat']) {
    let rules = '';
    try {
      rules = execFileSync('iptables', ['-w', '-t', table, '-S'], { encoding: 'utf8' });
    } catch {
      continue; // no iptables: nothing Moat could have added either
    }
    for (const rule of rules.split('\n')) {
      if (mine(rule)) leaks.push(`iptables ${table}: ${rule}`);
    }
  }
  return leaks;
}

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}
