/** The tenant-bridge prefix e2e/run.mjs gives its stack (MOAT_NET_BRIDGE_PREFIX). */
export const E2E_BRIDGE_PREFIX: string;
/** Host objects (processes, dirs, mounts, network objects) of a Moat stack still present; empty when clean. */
export function findLeaks(dataDir: string, sandboxIds?: string[]): string[];
/** Network objects only: netns, taps, tenant bridges, leases, CNI cache, iptables and nftables rules. */
export function findNetworkLeaks(dataDir: string, sandboxIds?: string[]): string[];
/** Running QEMU, virtiofsd and jail processes on this machine, as `pid: command line`. */
export function vmmProcesses(): string[];
