import { Injectable } from '@nestjs/common';
import { EntityManager, In, IsNull, Not } from 'typeorm';
import { ApiError, ErrorCode } from '../common/api.error';
import { chunks, IN_LIST_CHUNK } from '../common/chunks';
import { groupBy } from '../common/group-by';
import { parseIpv4Cidr, type Ipv4Cidr } from '../common/ipv4';
import { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import { freeAddresses } from './model/network-plan';
import type { TenantNetworkEntity } from './model/tenant-network.entity';
import { TenantNetworksRepository } from './tenant-networks.repository';

/** A new sandbox that could not get an address, and why. */
export interface AddressRefusal {
  sandbox: SandboxEntity;
  error: ApiError;
}

/**
 * Gives new sandboxes their addresses on their tenants' networks, in the transaction that
 * inserts them: the one place both insert paths (the scheduler's admissions, deployment
 * replicas) go through. Per batch: one read of the tenants' networks (made if missing, locked),
 * one read of the addresses those tenants hold, then the lowest free host address for each.
 * An address is free again once its sandbox's row is deleted, so the unique index on
 * (tenantId, address) is all the bookkeeping there is.
 */
@Injectable()
export class TenantAddresses {
  constructor(private readonly networks: TenantNetworksRepository) {}

  /**
   * Sets `address` on each sandbox with a network (not `network: false`); returns those that
   * got none (their tenant's subnet is full, or the pool had no subnet for a new tenant),
   * which the caller must not insert.
   */
  async assign(manager: EntityManager, sandboxes: readonly SandboxEntity[]): Promise<AddressRefusal[]> {
    const wanting = sandboxes.filter((sandbox) => sandbox.network !== false && !sandbox.address);
    if (wanting.length === 0) return [];
    const byTenant = groupBy(wanting, (sandbox) => sandbox.tenantId);
    const tenantIds = [...byTenant.keys()];
    const networks = await this.networks.ensure(manager, tenantIds);
    const used = await this.addressesInUse(manager, tenantIds);
    const refused: AddressRefusal[] = [];
    for (const [tenantId, group] of byTenant) {
      // `ensure` answers for every tenant asked, with its network or why it has none.
      const network = networks.get(tenantId) as TenantNetworkEntity | ApiError;
      if (network instanceof ApiError) {
        refused.push(...group.map((sandbox) => ({ sandbox, error: network })));
        continue;
      }
      // Stored by `ensure` from a parsed CIDR.
      const subnet = parseIpv4Cidr(network.subnet) as Ipv4Cidr;
      const free = freeAddresses(subnet, used.get(tenantId) ?? new Set(), group.length);
      group.forEach((sandbox, i) => {
        if (i < free.length) sandbox.address = free[i];
        else refused.push({ sandbox, error: new ApiError(ErrorCode.TENANT_NETWORK_FULL, `tenant network ${network.subnet} has no free address left`) });
      });
    }
    return refused;
  }

  private async addressesInUse(manager: EntityManager, tenantIds: readonly string[]): Promise<Map<string, Set<string>>> {
    const used = new Map<string, Set<string>>();
    for (const chunk of chunks(tenantIds, IN_LIST_CHUNK)) {
      const rows = await manager.find(SandboxEntity, {
        select: { tenantId: true, address: true },
        where: { tenantId: In(chunk), address: Not(IsNull()) },
      });
      for (const row of rows) {
        const set = used.get(row.tenantId) ?? new Set<string>();
        set.add(row.address as string);
        used.set(row.tenantId, set);
      }
    }
    return used;
  }
}
