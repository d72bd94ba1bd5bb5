import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import type { Principal } from '../auth/principal';
import { generateApiKey } from '../auth/token';
import { ErrorCode, ApiError } from '../common/api.error';
import { isUniqueViolation } from '../database/unique-violation';
import { Transactions } from '../database/transactions.service';
import { ApiKeyEntity } from './api-key.entity';
import { CreateTenantDto } from './dto/create-tenant.dto';
import { quotaWithDefaults } from './quota';
import { DEFAULT_TENANT_NAME, TenantEntity } from './tenant.entity';

@Injectable()
export class TenantsService implements OnModuleInit {
  constructor(
    @InjectRepository(TenantEntity) private readonly tenants: Repository<TenantEntity>,
    private readonly transactions: Transactions,
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
    const { key, hash, prefix } = generateApiKey();
    try {
      await this.transactions.run(async (manager) => {
        if (await manager.existsBy(TenantEntity, { name: dto.name })) {
          throw new ApiError(ErrorCode.CONFLICT, `a tenant named "${dto.name}" already exists`);
        }
        await manager.insert(TenantEntity, tenant);
        await manager.insert(ApiKeyEntity, {
          id: randomUUID(),
          tenantId: tenant.id,
          prefix,
          hash,
          createdAt: new Date(),
          revokedAt: null,
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ApiError(ErrorCode.CONFLICT, `a tenant named "${dto.name}" already exists`);
      throw err;
    }
    return { tenant, apiKey: key };
  }

  list(): Promise<TenantEntity[]> {
    return this.tenants.find({ order: { createdAt: 'ASC' } });
  }

  async get(id: string): Promise<TenantEntity> {
    const tenant = await this.tenants.findOneBy({ id });
    if (!tenant) throw new ApiError(ErrorCode.NOT_FOUND, `tenant ${id} not found`);
    return tenant;
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

  private newTenant(name: string): TenantEntity {
    return this.tenants.create({ id: randomUUID(), name, quota: quotaWithDefaults(), createdAt: new Date() });
  }
}
