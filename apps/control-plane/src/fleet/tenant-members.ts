import { MAX_TENANT_PEERS, type TenantNetworkPlan } from '@moat/proto';
import { EntityManager, In, IsNull, Not } from 'typeorm';
import { chunks, IN_LIST_CHUNK } from '../common/chunks';
import type { TenantNetwork } from '../networks/tenant-networks.repository';
import { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import { wantedSandboxes } from './wanted-sandboxes';

/** The nodes holding each tenant's planned sandboxes (those with an address), one row per pair. */
export async function loadTenantMembers(manager: EntityManager, tenantIds: readonly string[]): Promise<Map<string, string[]>> {
  const members = new Map<string, string[]>(tenantIds.map((id) => [id, []]));
  for (const chunk of chunks([...new Set(tenantIds)], IN_LIST_CHUNK)) {
    const rows = await manager
      .createQueryBuilder(SandboxEntity, 's')
      .select('s.tenantId', 'tenantId')
      .addSelect('s.nodeId', 'nodeId')
      .distinct(true)
      .where(wantedSandboxes({ tenantId: In(chunk), nodeId: Not(IsNull()), address: Not(IsNull()) }))
      .getRawMany<{ tenantId: string; nodeId: string }>();
    for (const row of rows) members.get(row.tenantId)?.push(row.nodeId);
  }
  return members;
}

/**
 * Each tenant's nodes (and their addresses) as last published, in memory: a node's peer list
 * changes only when a node joins or leaves its tenant's set (or moves), and then, and only
 * then, the tenant's other nodes are published again. A restart forgets it all, so each
 * tenant's nodes are published once more the first time one of them is.
 */
export class PublishedMembers {
  /** Each tenant's nodes as last published, with the address each had then. */
  private readonly published = new Map<string, ReadonlyMap<string, string>>();
  private readonly tenantsByNode = new Map<string, Set<string>>();

  /** The tenants these nodes held when last published: a node that left one is not told by its sandboxes. */
  tenantsOf(nodeIds: readonly string[]): string[] {
    return [...new Set(nodeIds.flatMap((id) => [...(this.tenantsByNode.get(id) ?? [])]))];
  }

  /**
   * Whether the tenant's set of nodes may differ from the one last published, given what these
   * nodes hold now: it was never published, or one of them took it up or gave it up. Every
   * change of a node's sandboxes is published, so no other node can have changed it here.
   */
  mayHaveChanged(tenantId: string, held: ReadonlyMap<string, ReadonlySet<string>>): boolean {
    const last = this.published.get(tenantId);
    if (!last) return true;
    for (const [nodeId, tenants] of held) if (tenants.has(tenantId) !== last.has(nodeId)) return true;
    return false;
  }

  /** Remembers the tenant's members as published now; whether they (or their addresses) differ from last time. */
  update(tenantId: string, members: readonly string[], addresses: ReadonlyMap<string, string>): boolean {
    const last = this.published.get(tenantId) ?? new Map<string, string>();
    const now = new Map(members.map((nodeId) => [nodeId, addresses.get(nodeId) ?? '']));
    for (const nodeId of last.keys()) {
      if (now.has(nodeId)) continue;
      const tenants = this.tenantsByNode.get(nodeId);
      tenants?.delete(tenantId);
      if (tenants?.size === 0) this.tenantsByNode.delete(nodeId);
    }
    for (const nodeId of now.keys()) {
      const tenants = this.tenantsByNode.get(nodeId) ?? new Set<string>();
      tenants.add(tenantId);
      this.tenantsByNode.set(nodeId, tenants);
    }
    if (now.size === 0) this.published.delete(tenantId);
    else this.published.set(tenantId, now);
    return now.size !== last.size || [...now].some(([nodeId, address]) => last.get(nodeId) !== address);
  }
}

/** The addresses of a tenant's nodes, sorted and each once (nodes without one are left out): worked out once per tenant, then cut per node by {@link tenantPlanFor}. */
export function memberAddresses(members: readonly string[], addresses: ReadonlyMap<string, string>): string[] {
  return [...new Set(members.flatMap((member) => addresses.get(member) ?? []))].sort();
}

/**
 * A tenant's network as one of its nodes is told it: the peers are its other nodes with a
 * known address (`tenantAddresses` from {@link memberAddresses}; undefined: no peers in the plan,
 * the node keeps those it was last told), sorted (a node can compare
 * lists), never the node's own address (nodes sharing a host share its address, and a VXLAN
 * peer of itself would only loop). Linear in the tenant's nodes: a tenant on thousands of
 * nodes is told to hundreds of them per scheduler batch.
 */
export function tenantPlanFor(network: TenantNetwork, ownAddress: string | undefined, tenantAddresses: readonly string[] | undefined): TenantNetworkPlan {
  if (tenantAddresses === undefined) return { ...network };
  const peers = ownAddress === undefined ? tenantAddresses : tenantAddresses.filter((address) => address !== ownAddress);
  return { ...network, peers: peers.slice(0, MAX_TENANT_PEERS) };
}
