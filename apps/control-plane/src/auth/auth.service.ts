import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { ApiKeyEntity } from '../tenants/api-key.entity';
import { ADMIN, Principal } from './principal';
import { API_KEY_PREFIX, hashApiKey, tokensEqual } from './token';

/** Resolves bearer tokens, for HTTP requests and dashboard sockets alike. */
@Injectable()
export class AuthService {
  constructor(
    private readonly config: AppConfig,
    @InjectRepository(ApiKeyEntity) private readonly apiKeys: Repository<ApiKeyEntity>,
  ) {}

  isAdminToken(token: string): boolean {
    return tokensEqual(token, this.config.adminToken.reveal());
  }

  async resolve(token: string | undefined): Promise<Principal | undefined> {
    if (!token) return undefined;
    if (this.isAdminToken(token)) return ADMIN;
    if (!token.startsWith(API_KEY_PREFIX)) return undefined;
    const key = await this.apiKeys.findOneBy({ hash: hashApiKey(token), revokedAt: IsNull() });
    return key ? { kind: 'tenant', tenantId: key.tenantId } : undefined;
  }
}
