import { Injectable } from '@nestjs/common';
import type { UiEvents } from '@moat/proto';
import type { Namespace } from 'socket.io';
import { AppConfig } from '../config/app-config';

export type UiNamespace = Namespace<Record<string, never>, UiEvents>;
type UiEvent = keyof UiEvents;

export const ADMIN_ROOM = 'admins';
export const tenantRoom = (tenantId: string): string => `tenant:${tenantId}`;

/**
 * Pushes changes to dashboards: admins see everything, a tenant only what it owns. It knows the
 * events (the shared protocol's `UiEvents`), not the domains that raise them.
 */
@Injectable()
export class UiChannel {
  private namespace?: UiNamespace;
  /** Replicas sharing the Redis adapter: a dashboard may be connected to any of them. */
  private readonly shared: boolean;

  constructor(config: AppConfig) {
    this.shared = config.redisUrl !== undefined;
  }

  attach(namespace: UiNamespace): void {
    this.namespace = namespace;
  }

  /**
   * Whether a change pushed now could reach a dashboard. Bulk changes (a fleet saying hello,
   * thousands of status reports) skip rendering views when it could not.
   */
  get watched(): boolean {
    return this.shared || (this.namespace?.sockets.size ?? 0) > 0;
  }

  /** Pushes an event to admins' dashboards only. */
  toAdmins<E extends UiEvent>(event: E, ...payload: Parameters<UiEvents[E]>): void {
    this.namespace?.to(ADMIN_ROOM).emit(event, ...payload);
  }

  /** Pushes an event about something a tenant owns: to that tenant's dashboards and admins'. */
  toTenant<E extends UiEvent>(tenantId: string, event: E, ...payload: Parameters<UiEvents[E]>): void {
    this.namespace?.to([ADMIN_ROOM, tenantRoom(tenantId)]).emit(event, ...payload);
  }
}
