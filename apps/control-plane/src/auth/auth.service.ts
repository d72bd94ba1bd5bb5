import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ApiKeys } from './api-keys.repository';
import { ADMIN, Principal } from './principal';
import { API_KEY_PREFIX, tokensEqual } from './token';

/** `lastUsedAt` is refreshed at most this often, so authentication is a read nearly always. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Resolves bearer tokens, for HTTP requests and dashboard sockets alike. */
@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);
  /** When this process last recorded each key's use (the database keeps the truth across replicas). */
  private readonly notedAt = new Map<string, number>();

  constructor(
    private readonly config: AppConfig,
    private readonly apiKeys: ApiKeys,
  ) {}

  isAdminToken(token: string): boolean {
    return tokensEqual(token, this.config.adminToken.reveal());
  }

  async resolve(token: string | undefined): Promise<Principal | undefined> {
    if (!token) return undefined;
    if (this.isAdminToken(token)) return ADMIN;
    if (!token.startsWith(API_KEY_PREFIX)) return undefined;
    const key = await this.apiKeys.findActive(token);
    if (!key) return undefined;
    await this.noteUse(key.id);
    return { kind: 'tenant', tenantId: key.tenantId, keyId: key.id };
  }

  /**
   * socket.io middleware for namespaces that clients join with `auth: { token }`: refuses the
   * connection unless the token resolves, and keeps the principal in `socket.data`.
   */
  socketMiddleware<S extends { handshake: { auth: unknown }; data: { principal: Principal } }>(
    what: string,
  ): (socket: S, next: (err?: Error) => void) => void {
    return (socket, next) => {
      const token: unknown = (socket.handshake.auth as Record<string, unknown>).token;
      this.resolve(typeof token === 'string' ? token : undefined).then(
        (principal) => {
          if (!principal) return next(new Error('unauthenticated'));
          socket.data.principal = principal;
          next();
        },
        (err: unknown) => {
          this.logger.error({ err }, `${what} authentication failed`);
          next(new Error('internal error'));
        },
      );
    };
  }

  /**
   * Awaited, so that a listing right after a request shows the use; a failure only logs. The
   * update itself only touches a `lastUsedAt` older than the resolution (another replica may
   * have just written it).
   */
  private async noteUse(keyId: string): Promise<void> {
    const now = new Date();
    if (now.getTime() - (this.notedAt.get(keyId) ?? 0) < LAST_USED_RESOLUTION_MS) return;
    const stale = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
    try {
      await this.apiKeys.noteUse(keyId, now, stale);
      this.notedAt.set(keyId, now.getTime());
    } catch (err) {
      this.logger.warn({ err, keyId }, 'recording API key use failed');
    }
  }
}
