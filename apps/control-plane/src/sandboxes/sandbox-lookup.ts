import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import type { Principal } from '../auth/principal';
import { ErrorCode, ApiError } from '../common/api.error';
import { NodesService } from '../nodes/nodes.service';
import { SandboxEntity } from './model/sandbox.entity';

/**
 * Finding a sandbox for a principal: another tenant's is reported missing, not forbidden, so ids
 * reveal nothing; one containerd started is the admin's to read and containerd's to change.
 */
@Injectable()
export class SandboxLookup {
  constructor(
    @InjectRepository(SandboxEntity) private readonly sandboxes: Repository<SandboxEntity>,
    private readonly nodes: NodesService,
  ) {}

  /**
   * A sandbox of Moat's the principal may use (read in the caller's transaction when given). A
   * sandbox containerd started answers (the admin) MANAGED_BY_CONTAINERD: every operation on it
   * but reading it is containerd's.
   */
  async get(principal: Principal, id: string, manager: EntityManager = this.sandboxes.manager): Promise<SandboxEntity> {
    const sandbox = await manager.findOneBy(SandboxEntity, { id });
    if (!isVisible(principal, sandbox)) throw await this.missing(principal, id);
    return sandbox;
  }

  /** Why the principal cannot use this id: it names a sandbox containerd owns (the admin only), or nothing it may see. */
  async missing(principal: Principal, id: string): Promise<ApiError> {
    const [task] = principal.kind === 'admin' ? await this.nodes.containerdSandboxes({ id }) : [];
    if (!task) return sandboxNotFound(id);
    const { namespace, id: taskId } = task.containerd;
    return new ApiError(
      ErrorCode.MANAGED_BY_CONTAINERD,
      `sandbox ${id} is containerd task ${taskId} in namespace ${namespace} on node ${task.nodeId}: containerd manages it; ` +
        `delete it through containerd (ctr task delete / crictl)`,
    );
  }
}

/** Whether the principal may see the sandbox (the admin sees every one, a tenant its own). */
export function isVisible(principal: Principal, sandbox: SandboxEntity | null): sandbox is SandboxEntity {
  return sandbox !== null && (principal.kind === 'admin' || sandbox.tenantId === principal.tenantId);
}

export function sandboxNotFound(id: string): ApiError {
  return new ApiError(ErrorCode.NOT_FOUND, `sandbox ${id} not found`);
}
