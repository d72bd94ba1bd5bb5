import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ApiError, ErrorCode } from '../common/api.error';
import { chunks, IN_LIST_CHUNK } from '../common/chunks';
import { groupBy } from '../common/group-by';
import { formatIpv4Cidr, parseIpv4Cidr, type Ipv4Cidr } from '@moat/proto';
import { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import { hostCount, hostWindow } from './model/network-plan';
import type { TenantNetworkEntity } from './model/tenant-network.entity';
import { TenantNetworksRepository } from './tenant-networks.repository';

/** A new sandbox that could not get an address, and why. */
export interface AddressRefusal {
  sandbox: SandboxEntity;
  error: ApiError;
}

/** The least a next-fit search round looks at per tenant, so that a few taken addresses cost no extra round. */
const MIN_WINDOW = 64;

/** One tenant's search of a batch: which sandboxes need addresses, where it looks next. */
interface Search {
  tenantId: string;
  subnet: Ipv4Cidr;
  group: SandboxEntity[];
  found: string[];
  /** The host offset (see hostWindow) the next round starts at, and how many were looked at. */
  offset: number;
  scanned: number;
  /** The offset after the last address found: where the tenant's next batch starts. */
  resume: number;
}

/**
 * Gives new sandboxes their addresses on their tenants' networks, in the transaction that
 * inserts them: the one place both insert paths (the scheduler's admissions, deployment
 * replicas) go through. Next fit: each tenant's search starts after the last address this
 * process gave it and wraps around, so a freed address is given again only after the others
 * (no stale neighbour or connection entry meets a new sandbox at once), and a batch costs a
 * read of its own candidates, not of the tenant's every address. The hint lives in memory:
 * every candidate is checked against the database (all tenants of a round in one query), and
 * the unique index on (tenantId, address) is the backstop. An address is free again once its
 * sandbox's row is deleted.
 */
@Injectable()
export class TenantAddresses {
  /** Where each tenant's next search starts, as a host offset. */
  private readonly cursors = new Map<string, number>();

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
    const networks = await this.networks.ensure(manager, [...byTenant.keys()]);
    const refused: AddressRefusal[] = [];
    const searches: Search[] = [];
    for (const [tenantId, group] of byTenant) {
      // `ensure` answers for every tenant asked, with its network or why it has none.
      const network = networks.get(tenantId) as TenantNetworkEntity | ApiError;
      if (network instanceof ApiError) {
        refused.push(...group.map((sandbox) => ({ sandbox, error: network })));
        continue;
      }
      // Stored by `ensure` from a parsed CIDR.
      const subnet = parseIpv4Cidr(network.subnet) as Ipv4Cidr;
      const offset = (this.cursors.get(tenantId) ?? 0) % Math.max(1, hostCount(subnet));
      searches.push({ tenantId, subnet, group, found: [], offset, scanned: 0, resume: offset });
    }
    await this.search(manager, searches);
    for (const { tenantId, subnet, group, found, resume } of searches) {
      this.cursors.set(tenantId, resume);
      group.forEach((sandbox, i) => {
        if (i < found.length) sandbox.address = found[i];
        else refused.push({ sandbox, error: new ApiError(ErrorCode.TENANT_NETWORK_FULL, `tenant network ${formatIpv4Cidr(subnet)} has no free address left`) });
      });
    }
    return refused;
  }

  /** Rounds of candidate windows, one query each for all tenants still short, until each is served or has looked at its whole subnet. */
  private async search(manager: EntityManager, searches: Search[]): Promise<void> {
    for (;;) {
      const round = searches.filter((s) => s.found.length < s.group.length && s.scanned < hostCount(s.subnet));
      if (round.length === 0) return;
      const windows = round.map((s) => {
        const count = Math.min(hostCount(s.subnet) - s.scanned, Math.max(2 * (s.group.length - s.found.length), MIN_WINDOW));
        return { s, count, candidates: hostWindow(s.subnet, s.offset, count) };
      });
      const taken = await this.taken(manager, windows.map((w) => w.s.tenantId), windows.flatMap((w) => w.candidates));
      for (const { s, count, candidates } of windows) {
        candidates.forEach((address, i) => {
          if (s.found.length >= s.group.length || taken.has(`${s.tenantId} ${address}`)) return;
          s.found.push(address);
          s.resume = (s.offset + i + 1) % hostCount(s.subnet);
        });
        s.offset = (s.offset + count) % hostCount(s.subnet);
        s.scanned += count;
      }
    }
  }

  /** Which of these addresses these tenants' sandboxes hold, as `<tenantId> <address>`. */
  private async taken(manager: EntityManager, tenantIds: readonly string[], addresses: readonly string[]): Promise<Set<string>> {
    const taken = new Set<string>();
    for (const tenantChunk of chunks([...new Set(tenantIds)], IN_LIST_CHUNK)) {
      for (const addressChunk of chunks([...new Set(addresses)], IN_LIST_CHUNK)) {
        const rows: { tenantId: string; address: string }[] = await manager
          .createQueryBuilder()
          .select(['s.tenantId AS "tenantId"', 's.address AS "address"'])
          .from(SandboxEntity, 's')
          .where('s.tenantId IN (:...tenantIds)', { tenantIds: tenantChunk })
          .andWhere('s.address IN (:...addresses)', { addresses: addressChunk })
          .getRawMany();
        for (const row of rows) taken.add(`${row.tenantId} ${row.address}`);
      }
    }
    return taken;
  }
}
