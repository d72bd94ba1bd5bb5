import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { EntityManager, IsNull, LessThan, Or, Repository } from 'typeorm';
import { rawQuery } from '../database/raw-query';
import { ApiKeyEntity } from './api-key.entity';
import { generateApiKey, hashApiKey } from './token';

const FIND_ACTIVE_KEY = 'SELECT "id", "tenantId" FROM "api_keys" WHERE "hash" = :hash AND "revokedAt" IS NULL';

/** The one writer of `api_keys`: tenants' keys are issued, listed, revoked and resolved here. */
@Injectable()
export class ApiKeys {
  constructor(@InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>) {}

  /**
   * A new key for the tenant, stored by its hash; the key itself is returned only here. Within
   * `manager`'s transaction when given (a tenant is created with its first key).
   */
  async issue(tenantId: string, name: string | null, manager: EntityManager = this.keys.manager): Promise<{ entity: ApiKeyEntity; key: string }> {
    const { key, hash, prefix } = generateApiKey();
    const entity = this.keys.create({ id: randomUUID(), tenantId, name, prefix, hash, createdAt: new Date(), revokedAt: null, lastUsedAt: null });
    await manager.insert(ApiKeyEntity, entity);
    return { entity, key };
  }

  list(tenantId: string): Promise<ApiKeyEntity[]> {
    return this.keys.find({ where: { tenantId }, order: { createdAt: 'ASC' } });
  }

  /** Revokes the tenant's key (again is harmless); false when the tenant has no such key. */
  async revoke(tenantId: string, keyId: string): Promise<boolean> {
    if (!(await this.keys.existsBy({ id: keyId, tenantId }))) return false;
    await this.keys.update({ id: keyId, tenantId, revokedAt: IsNull() }, { revokedAt: new Date() });
    return true;
  }

  /** The unrevoked key a token is, if any. Every request asks this: a fixed statement. */
  async findActive(token: string): Promise<{ id: string; tenantId: string } | undefined> {
    const [key] = await rawQuery<{ id: string; tenantId: string }>(this.keys.manager, FIND_ACTIVE_KEY, { hash: hashApiKey(token) });
    return key;
  }

  /** Records a use at `now`, unless one after `staleBefore` is recorded (by another replica, say). */
  async noteUse(keyId: string, now: Date, staleBefore: Date): Promise<void> {
    await this.keys.update({ id: keyId, lastUsedAt: Or(IsNull(), LessThan(staleBefore)) }, { lastUsedAt: now });
  }
}
