import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { mayAccess, type Principal } from '../auth/principal';
import { ApiError, ErrorCode } from '../common/api.error';
import { UiChannel } from '../dashboard/ui.channel';
import { Transactions } from '../database/transactions.service';
import { isUniqueViolation } from '../database/unique-violation';
import { TenantsService } from '../tenants/tenants.service';
import { TemplateEntity, TemplateVersionEntity } from './model/template.entity';
import type { TemplateSpec } from './model/template-spec';

/** Tenant-owned templates whose versions, once written, never change. */
@Injectable()
export class TemplatesService {
  constructor(
    @InjectRepository(TemplateEntity) private readonly templates: Repository<TemplateEntity>,
    @InjectRepository(TemplateVersionEntity) private readonly versions: Repository<TemplateVersionEntity>,
    private readonly transactions: Transactions,
    private readonly tenants: TenantsService,
    private readonly ui: UiChannel,
  ) {}

  /** Creates a template with its version 1. */
  async create(
    principal: Principal,
    name: string,
    tenantId: string | undefined,
    spec: TemplateSpec,
  ): Promise<{ template: TemplateEntity; version: TemplateVersionEntity }> {
    const tenant = await this.tenants.forPrincipal(principal, tenantId);
    const now = new Date();
    const template = this.templates.create({ id: randomUUID(), tenantId: tenant.id, name, latestVersion: 1, createdAt: now });
    const version = this.versions.create({ templateId: template.id, version: 1, spec, createdAt: now });
    try {
      await this.transactions.run(async (manager) => {
        await manager.insert(TemplateEntity, template);
        await manager.insert(TemplateVersionEntity, version);
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new ApiError(ErrorCode.CONFLICT, `tenant "${tenant.name}" already has a template named "${name}"`);
      }
      throw err;
    }
    this.announce(template);
    return { template, version };
  }

  /** Adds the next version; concurrent additions get consecutive numbers. */
  async addVersion(
    principal: Principal,
    id: string,
    spec: TemplateSpec,
  ): Promise<{ template: TemplateEntity; version: TemplateVersionEntity }> {
    await this.get(principal, id);
    const result = await this.transactions.run(async (manager) => {
      // Bumping the counter first takes the row lock on PostgreSQL, so numbers never collide.
      await manager.increment(TemplateEntity, { id }, 'latestVersion', 1);
      const template = await manager.findOneByOrFail(TemplateEntity, { id });
      const version = manager.create(TemplateVersionEntity, {
        templateId: id,
        version: template.latestVersion,
        spec,
        createdAt: new Date(),
      });
      await manager.insert(TemplateVersionEntity, version);
      return { template, version };
    });
    this.announce(result.template);
    return result;
  }

  list(principal: Principal): Promise<TemplateEntity[]> {
    return this.templates.find({
      where: principal.kind === 'tenant' ? { tenantId: principal.tenantId } : {},
      order: { createdAt: 'ASC' },
    });
  }

  async get(principal: Principal, id: string): Promise<TemplateEntity> {
    const template = await this.templates.findOneBy({ id });
    // Another tenant's template is reported missing, so ids reveal nothing.
    if (!template || !mayAccess(principal, template.tenantId)) {
      throw new ApiError(ErrorCode.NOT_FOUND, `template ${id} not found`);
    }
    return template;
  }

  async listVersions(principal: Principal, id: string): Promise<TemplateVersionEntity[]> {
    await this.get(principal, id);
    return this.versions.find({ where: { templateId: id }, order: { version: 'ASC' } });
  }

  async getVersion(principal: Principal, id: string, version: number): Promise<TemplateVersionEntity> {
    await this.get(principal, id);
    const found = await this.versions.findOneBy({ templateId: id, version });
    if (!found) throw new ApiError(ErrorCode.NOT_FOUND, `template ${id} has no version ${version}`);
    return found;
  }

  /** Dashboards hear of a new template or version by name and number only. */
  private announce({ id, tenantId, name, latestVersion }: TemplateEntity): void {
    this.ui.toTenant(tenantId, 'template:updated', { id, name, latestVersion });
  }
}
