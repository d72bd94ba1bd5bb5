import { Injectable } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { chunks, IN_LIST_CHUNK } from '../common/chunks';
import { formatIpv4, formatIpv4Cidr, parseIpv4Cidr } from '@moat/proto';
import { insertRows } from '../database/raw-query';
import { ApiError, ErrorCode } from '../common/api.error';
import { AppConfig, type NetworkConfig } from '../config/app-config';
import { gatewayOf, lowestFreeSubnet, lowestFreeVni } from './model/network-plan';
import { TenantNetworkEntity } from './model/tenant-network.entity';

/** A tenant's network as nodes are told it. */
export interface TenantNetwork {
  tenantId: string;
  vni: number;
  subnet: string;
  gateway: string;
}

/**
 * The one writer of `tenant_networks`: a tenant's row is made the first time one of its
 * sandboxes needs an address (the lowest free VNI, the lowest free subnet of the pool) and is
 * never changed afterwards. Tenants cannot be deleted through the API, so rows are never removed.
 */
@Injectable()
export class TenantNetworksRepository {
  private readonly plan: NetworkConfig;

  constructor(config: AppConfig) {
    this.plan = config.network;
  }

  /**
   * The networks of these tenants, made for those that have none yet; on PostgreSQL their rows
   * stay locked until the transaction ends, so no other writer changes what the caller plans
   * on. Tenants the pool has no subnet left for get an error instead.
   */
  async ensure(manager: EntityManager, tenantIds: readonly string[]): Promise<Map<string, TenantNetworkEntity | ApiError>> {
    const found = new Map<string, TenantNetworkEntity | ApiError>();
    for (const row of await this.read(manager, tenantIds, { lock: true })) found.set(row.tenantId, row);
    const missing = tenantIds.filter((id) => !found.has(id));
    if (missing.length === 0) return found;
    // Rare (a tenant's first sandbox ever), so reading every network to find the free ones is fine.
    const all = await manager.find(TenantNetworkEntity, { select: { vni: true, subnet: true } });
    const vnis = all.map((row) => row.vni);
    const subnets = all.map((row) => row.subnet);
    const created: TenantNetworkEntity[] = [];
    const now = new Date();
    for (const tenantId of missing) {
      const subnet = lowestFreeSubnet(this.plan.subnetPool, this.plan.tenantPrefix, subnets);
      const vni = lowestFreeVni(vnis);
      if (!subnet || vni === undefined) {
        const pool = formatIpv4Cidr(this.plan.subnetPool);
        found.set(tenantId, new ApiError(ErrorCode.NETWORK_POOL_EXHAUSTED, `no free /${this.plan.tenantPrefix} left in the tenant network pool ${pool}`));
        continue;
      }
      const row: TenantNetworkEntity = { tenantId, vni, subnet: formatIpv4Cidr(subnet), createdAt: now };
      vnis.push(row.vni);
      subnets.push(row.subnet);
      created.push(row);
      found.set(tenantId, row);
    }
    // Both callers hold the scheduler's epoch lock, so no one else makes networks meanwhile;
    // the unique indexes on vni and subnet are the backstop if that ever changes.
    await insertRows(manager, TenantNetworkEntity, created);
    return found;
  }

  /** The networks of these tenants that have one, as nodes are told them. */
  async networksOf(manager: EntityManager, tenantIds: readonly string[]): Promise<Map<string, TenantNetwork>> {
    const networks = new Map<string, TenantNetwork>();
    for (const row of await this.read(manager, tenantIds, { lock: false })) {
      const subnet = parseIpv4Cidr(row.subnet);
      if (subnet) networks.set(row.tenantId, { tenantId: row.tenantId, vni: row.vni, subnet: row.subnet, gateway: formatIpv4(gatewayOf(subnet)) });
    }
    return networks;
  }

  private async read(manager: EntityManager, tenantIds: readonly string[], { lock }: { lock: boolean }): Promise<TenantNetworkEntity[]> {
    const rows: TenantNetworkEntity[] = [];
    // SQLite has no row locks and needs none: its writers are serialised anyway.
    const locking = lock && manager.connection.driver.options.type === 'postgres';
    for (const chunk of chunks([...new Set(tenantIds)], IN_LIST_CHUNK)) {
      const query = manager.createQueryBuilder(TenantNetworkEntity, 'n').where({ tenantId: In(chunk) });
      rows.push(...(await (locking ? query.setLock('pessimistic_write') : query).getMany()));
    }
    return rows;
  }
}
