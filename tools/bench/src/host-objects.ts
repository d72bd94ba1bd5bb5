/**
 * The host objects a benchmark's sandboxes may leave behind: tools/dev/host-objects.mjs (shared
 * with `npm test`'s per-tier check) for processes, mounts, RAM files, jail uids and cgroups, and
 * the network objects Moat names after a sandbox id or the stack's bridge prefix.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { importDevModule } from './dev-module';

export interface HostObjects {
  snapshotHostObjects: () => unknown;
  leftSince: (snapshot: unknown) => string[];
  /** Running QEMU, virtiofsd and bubblewrap processes as `pid: command line`. */
  vmmProcesses: () => string[];
  /** RAM files of restored VMs (`/dev/shm/moat/<id>.mem`), as paths. */
  guestMemoryFiles: () => string[];
}

export function loadHostObjects(): Promise<HostObjects> {
  return importDevModule<HostObjects>('host-objects.mjs');
}

/** Network objects of these sandboxes still on the host: netns, taps, firewall rules, and bridges with the stack's prefix. */
export function networkLeftovers(ids: readonly string[], bridgePrefix: string): string[] {
  const left: string[] = [];
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
  const links = readdirSync('/sys/class/net');
  let ruleset = '';
  try {
    ruleset = execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    // No nft: no rules of ours either.
  }
  for (const id of ids) {
    if (netns.includes(`moat-${id}`)) left.push(`netns moat-${id}`);
    const tap = `mt${id.replaceAll('-', '').slice(0, 13)}`;
    if (links.includes(tap)) left.push(`link ${tap}`);
    if (ruleset.includes(`egress_${id.replaceAll('-', '')}`)) left.push(`nft chain of ${id}`);
  }
  for (const link of links) if (link.startsWith(bridgePrefix)) left.push(`bridge ${link}`);
  return left;
}
