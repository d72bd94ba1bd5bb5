import { readFile } from 'node:fs/promises';
import { NetworkError, NetworkErrorCode } from '../../errors/network.errors';
import type { TenantNetwork } from '../tenants/tenant-networks';
import { cniConflistSchema, type CniConflist } from './cni.types';

/**
 * The default network: Debian's reference plugins. `bridge` makes the veth and the bridge with
 * the gateway address, `host-local` hands out addresses, `portmap` publishes ports with
 * iptables DNAT, `bandwidth` applies rate limits when a sandbox asks for them (a pass-through
 * otherwise). Bridge name, subnet and IPAM data dir are filled in per tenant.
 */
export const DEFAULT_CONFLIST: CniConflist = {
  cniVersion: '1.0.0',
  name: 'moat',
  plugins: [
    {
      type: 'bridge',
      isGateway: true,
      ipMasq: true,
      hairpinMode: true,
      ipam: { type: 'host-local', routes: [{ dst: '0.0.0.0/0' }] },
    },
    { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    { type: 'bandwidth', capabilities: { bandwidth: true } },
  ],
};

/** Reads and validates a conflist file (`MOAT_CNI_CONFLIST`); its first plugin must have an `ipam` section. */
export async function loadConflist(path: string): Promise<CniConflist> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new NetworkError(NetworkErrorCode.CNI_CONFIG_INVALID, `read CNI conflist ${path}`, { cause });
  }
  const parsed = cniConflistSchema.safeParse(raw);
  if (!parsed.success) throw new NetworkError(NetworkErrorCode.CNI_CONFIG_INVALID, `CNI conflist ${path}: ${parsed.error.message}`);
  if (!parsed.data.plugins[0].ipam) {
    throw new NetworkError(NetworkErrorCode.CNI_CONFIG_INVALID, `CNI conflist ${path}: the first plugin needs an ipam section`);
  }
  return parsed.data;
}

/**
 * The tenant's instance of a conflist: its own network name (so host-local keeps a lease
 * directory per tenant), bridge and subnet; leases live under Moat's data dir so a leak check
 * can list them. With `address` (the control plane's plan) the range is that one address, so
 * IPAM hands out exactly it and still records the lease.
 */
export function conflistForTenant(template: CniConflist, tenant: TenantNetwork, ipamDataDir: string, address?: string): CniConflist {
  const [first, ...rest] = template.plugins;
  const range = { subnet: tenant.subnet, gateway: tenant.gateway, ...(address && { rangeStart: address, rangeEnd: address }) };
  return {
    ...template,
    name: tenant.networkName,
    plugins: [
      {
        ...first,
        ...(first.type === 'bridge' && { bridge: tenant.bridge }),
        ipam: { ...first.ipam, type: first.ipam?.type ?? 'host-local', ranges: [[range]], dataDir: ipamDataDir },
      },
      ...rest,
    ],
  };
}
