import { Injectable } from '@nestjs/common';
import type { UiEvents } from '@moat/proto';
import type { Namespace } from 'socket.io';
import { AppConfig } from '../config/app-config';
import type { DeploymentDto } from '../deployments/dto/deployment.dto';
import type { AuditEntryDto } from '../audit/audit-entry.dto';
import type { NodeDto } from '../nodes/node.dto';
import type { RolloutDto } from '../rollouts/dto/rollout.dto';
import type { SandboxDto } from '../sandboxes/dto/sandbox.dto';
import type { TemplateSummaryDto } from '../templates/dto/template.dto';
import type { TenantDto } from '../tenants/dto/tenant.dto';

export type UiNamespace = Namespace<Record<string, never>, UiEvents>;

export const ADMIN_ROOM = 'admins';
export const tenantRoom = (tenantId: string): string => `tenant:${tenantId}`;

/** Pushes changes to dashboards: admins see everything, a tenant only what it owns. */
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

  sandboxUpdated(sandbox: SandboxDto): void {
    this.namespace?.to([ADMIN_ROOM, tenantRoom(sandbox.tenantId)]).emit('sandbox:updated', sandbox);
  }

  sandboxDeleted(id: string, tenantId: string): void {
    this.namespace?.to([ADMIN_ROOM, tenantRoom(tenantId)]).emit('sandbox:deleted', { id });
  }

  nodeUpdated(node: NodeDto): void {
    this.namespace?.to(ADMIN_ROOM).emit('node:updated', node);
  }

  deploymentUpdated(deployment: DeploymentDto): void {
    this.namespace?.to([ADMIN_ROOM, tenantRoom(deployment.tenantId)]).emit('deployment:updated', deployment);
  }

  deploymentDeleted(id: string, tenantId: string): void {
    this.namespace?.to([ADMIN_ROOM, tenantRoom(tenantId)]).emit('deployment:deleted', { id });
  }

  rolloutUpdated(rollout: RolloutDto, tenantId: string): void {
    this.namespace?.to([ADMIN_ROOM, tenantRoom(tenantId)]).emit('rollout:updated', rollout);
  }

  templateUpdated(template: TemplateSummaryDto): void {
    const { id, name, latestVersion } = template;
    this.namespace?.to([ADMIN_ROOM, tenantRoom(template.tenantId)]).emit('template:updated', { id, name, latestVersion });
  }

  tenantUpdated(tenant: TenantDto): void {
    this.namespace?.to(ADMIN_ROOM).emit('tenant:updated', tenant);
  }

  auditAppended(entry: AuditEntryDto): void {
    const rooms = entry.tenantId ? [ADMIN_ROOM, tenantRoom(entry.tenantId)] : [ADMIN_ROOM];
    this.namespace?.to(rooms).emit('audit:appended', entry);
  }
}
