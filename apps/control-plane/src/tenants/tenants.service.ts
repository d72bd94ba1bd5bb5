import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { EntityManager, Repository } from 'typeorm';
import type { ApiKeyEntity } from '../auth/api-key.entity';
import { ApiKeys } from '../auth/api-keys.repository';
import type { Principal } from '../auth/principal';
import { ErrorCode, ApiError } from '../common/api.error';
import { UiChannel } from '../dashboard/ui.channel';
import { isUniqueViolation } from '../database/unique-violation';
import { Transactions } from '../database/transactions.service';
import { CreateTenantDto } from './dto/create-tenant.dto';
import { TenantDto } from './dto/tenant.dto';
import { UpdateTenantDto } from './dto/update-tenant.dto';
import { UsageDto } from './dto/usage.dto';
import { NO_USAGE, quotaViolation, quotaWithDefaults, type Usage } from './model/quota';
import { DEFAULT_TENANT_NAME, TenantEntity, TenantState } from './model/tenant.entity';
import { loadUsage } from './usage';

@Injectable()
export class TenantsService implements OnModuleInit {
  constructor(
    @InjectRepository(TenantEntity) private readonly tenants: Repository<TenantEntity>,
    private readonly apiKeys: ApiKeys,
    private readonly transactions: Transactions,
    private readonly ui: UiChannel,
  ) {}

  /** Makes sure the built-in `default` tenant exists (admins create sandboxes in it). */
  async onModuleInit(): Promise<void> {
    if (await this.tenants.existsBy({ name: DEFAULT_TENANT_NAME })) return;
    try {
      await this.tenants.insert(this.newTenant(DEFAULT_TENANT_NAME));
    } catch (err) {
      // Another replica starting at the same time created it first.
      if (!isUniqueViolation(err)) throw err;
    }
  }

  /** Creates a tenant and its first API key; the key is returned only here. */
  async create(dto: CreateTenantDto): Promise<{ tenant: TenantEntity; apiKey: string }> {
    const tenant = this.newTenant(dto.name);
    tenant.quota = quotaWithDefaults(dto.quota);
    try {
      const { key } = await this.transactions.run(async (manager) => {
        if (await manager.existsBy(TenantEntity, { name: dto.name })) {
          throw new ApiError(ErrorCode.CONFLICT, `a tenant named "${dto.name}" already exists`);
        }
        await manager.insert(TenantEntity, tenant);
        return this.apiKeys.issue(tenant.id, 'initial', manager);
      });
      this.ui.toAdmins('tenant:updated', TenantDto.from(tenant));
      return { tenant, apiKey: key };
    } catch (err) {
      if (isUniqueViolation(err)) throw new ApiError(ErrorCode.CONFLICT, `a tenant named "${dto.name}" already exists`);
      throw err;
    }
  }

  list(): Promise<TenantEntity[]> {
    return this.tenants.find({ order: { createdAt: 'ASC' } });
  }

  async get(id: string): Promise<TenantEntity> {
    const tenant = await this.tenants.findOneBy({ id });
    if (!tenant) throw new ApiError(ErrorCode.NOT_FOUND, `tenant ${id} not found`);
    return tenant;
  }

  /** The tenant, if the principal may see it: the admin any, a tenant only itself (else 404). */
  async visibleTo(principal: Principal, id: string): Promise<TenantEntity> {
    if (principal.kind === 'tenant' && principal.tenantId !== id) {
      throw new ApiError(ErrorCode.NOT_FOUND, `tenant ${id} not found`);
    }
    return this.get(id);
  }

  async getDefault(): Promise<TenantEntity> {
    const tenant = await this.tenants.findOneBy({ name: DEFAULT_TENANT_NAME });
    if (!tenant) throw new Error('the default tenant is missing although it is created at start');
    return tenant;
  }

  /**
   * The tenant a request acts for: a tenant key acts for its own tenant only; the admin
   * token for `tenantId`, or the "default" tenant when it names none.
   */
  async forPrincipal(principal: Principal, tenantId: string | undefined): Promise<TenantEntity> {
    if (principal.kind === 'tenant') {
      if (tenantId !== undefined && tenantId !== principal.tenantId) {
        throw new ApiError(ErrorCode.FORBIDDEN, 'tenantId may only name another tenant with the admin token');
      }
      return this.get(principal.tenantId);
    }
    return tenantId === undefined ? this.getDefault() : this.get(tenantId);
  }

  /** Changes the quota: limits given replace the current ones. Usage above a lowered limit stays. */
  async update(id: string, dto: UpdateTenantDto): Promise<TenantEntity> {
    const tenant = await this.transactions.run(async (manager) => {
      const found = await manager.findOneBy(TenantEntity, { id });
      if (!found) return undefined;
      if (dto.quota) found.quota = quotaWithDefaults({ ...found.quota, ...dropUndefined(dto.quota) });
      await manager.update(TenantEntity, { id }, { quota: found.quota });
      return found;
    });
    if (!tenant) throw new ApiError(ErrorCode.NOT_FOUND, `tenant ${id} not found`);
    this.ui.toAdmins('tenant:updated', TenantDto.from(tenant));
    return tenant;
  }

  /** Suspends or resumes a tenant; a suspended one cannot create sandboxes. */
  async setState(id: string, state: TenantState): Promise<TenantEntity> {
    const result = await this.tenants.update({ id }, { state });
    if (!result.affected) throw new ApiError(ErrorCode.NOT_FOUND, `tenant ${id} not found`);
    const tenant = await this.get(id);
    this.ui.toAdmins('tenant:updated', TenantDto.from(tenant));
    return tenant;
  }

  async usage(principal: Principal, id: string): Promise<UsageDto> {
    const tenant = await this.visibleTo(principal, id);
    const usage = (await loadUsage(this.tenants.manager, [id])).get(id) ?? NO_USAGE;
    return { ...usage, quota: tenant.quota };
  }

  /**
   * Why the tenant cannot take `added` beside what its sandboxes use, or undefined when it can: a
   * suspended tenant gets no new sandboxes (TENANT_SUSPENDED), and the quota must have room
   * (QUOTA_EXCEEDED). A wake adds a hibernated sandbox's vCPUs and memory and no sandbox; a fork
   * adds its clones. In the caller's transaction, which holds the scheduler's lock
   * (bumpSchedulerEpoch), so no admission is checked meanwhile.
   */
  async admissionRefusal(manager: EntityManager, tenantId: string, added: Usage): Promise<ApiError | undefined> {
    const tenant = await manager.findOneBy(TenantEntity, { id: tenantId });
    if (!tenant) return undefined;
    if (added.sandboxes > 0 && tenant.state === 'suspended') return new ApiError(ErrorCode.TENANT_SUSPENDED, `tenant "${tenant.name}" is suspended`);
    const usage = (await loadUsage(manager, [tenantId])).get(tenantId) ?? NO_USAGE;
    const problem = quotaViolation(tenant.quota, usage, added);
    return problem ? new ApiError(ErrorCode.QUOTA_EXCEEDED, `quota of tenant "${tenant.name}" exceeded: ${problem}`) : undefined;
  }

  async listKeys(principal: Principal, tenantId: string): Promise<ApiKeyEntity[]> {
    await this.visibleTo(principal, tenantId);
    return this.apiKeys.list(tenantId);
  }

  async createKey(principal: Principal, tenantId: string, name?: string): Promise<{ entity: ApiKeyEntity; key: string }> {
    await this.visibleTo(principal, tenantId);
    return this.apiKeys.issue(tenantId, name ?? null);
  }

  /** Revokes a key: from now on it is answered with 401. Revoking twice is harmless. */
  async revokeKey(principal: Principal, tenantId: string, keyId: string): Promise<void> {
    await this.visibleTo(principal, tenantId);
    if (!(await this.apiKeys.revoke(tenantId, keyId))) throw new ApiError(ErrorCode.NOT_FOUND, `API key ${keyId} not found`);
  }

  private newTenant(name: string): TenantEntity {
    return this.tenants.create({
      id: randomUUID(),
      name,
      state: 'active',
      quota: quotaWithDefaults(),
      createdAt: new Date(),
    });
  }
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
