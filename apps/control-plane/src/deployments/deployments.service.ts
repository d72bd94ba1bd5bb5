import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { In, IsNull, Not, Repository } from 'typeorm';
import { mayAccess, type Principal } from '../auth/principal';
import { ApiError, ErrorCode } from '../common/api.error';
import { UiChannel } from '../dashboard/ui.channel';
import { Transactions } from '../database/transactions.service';
import { NodeEntity, wouldBeReady } from '../nodes/node.entity';
import { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import { matchesSelector } from '../scheduler/placement';
import { TemplatesService } from '../templates/templates.service';
import { NO_USAGE, quotaFit } from '../tenants/model/quota';
import { TenantsService } from '../tenants/tenants.service';
import { loadUsage } from '../tenants/usage';
import { DeploymentEntity } from './model/deployment.entity';
import { DeploymentReconciler } from './deployment.reconciler';
import { CreateDeploymentDto } from './dto/create-deployment.dto';
import { DeploymentDto } from './dto/deployment.dto';
import { countReplicas } from './replica-counts';

const DEFAULT_REPLICAS = 1;

/** Deployments: keep N healthy sandboxes of a template version (or one per matching node). */
@Injectable()
export class DeploymentsService {
  constructor(
    @InjectRepository(DeploymentEntity) private readonly deployments: Repository<DeploymentEntity>,
    @InjectRepository(SandboxEntity) private readonly sandboxes: Repository<SandboxEntity>,
    @InjectRepository(NodeEntity) private readonly nodes: Repository<NodeEntity>,
    private readonly transactions: Transactions,
    private readonly templates: TemplatesService,
    private readonly tenants: TenantsService,
    private readonly reconciler: DeploymentReconciler,
    private readonly ui: UiChannel,
  ) {}

  async create(principal: Principal, dto: CreateDeploymentDto): Promise<DeploymentEntity> {
    if (dto.perNode && dto.replicas !== undefined) {
      throw new ApiError(ErrorCode.VALIDATION_FAILED, 'give either replicas or perNode, not both');
    }
    const template = await this.templates.get(principal, dto.templateId);
    if (dto.tenantId !== undefined && dto.tenantId !== template.tenantId) {
      throw new ApiError(ErrorCode.VALIDATION_FAILED, 'a deployment belongs to the tenant of its template');
    }
    const version = await this.templates.getVersion(principal, template.id, dto.templateVersion ?? template.latestVersion);
    const tenant = await this.tenants.get(template.tenantId);
    const replicas = dto.perNode ? 0 : (dto.replicas ?? DEFAULT_REPLICAS);
    // An early answer for a deployment that could never fit; the reconciler enforces it for good.
    const usage = (await loadUsage(this.sandboxes.manager, [tenant.id])).get(tenant.id) ?? NO_USAGE;
    const { problem } = quotaFit(tenant.quota, usage, version.spec, replicas);
    if (problem) throw new ApiError(ErrorCode.QUOTA_EXCEEDED, `quota of tenant "${tenant.name}" exceeded: ${problem}`);
    const now = new Date();
    const id = randomUUID();
    const deployment = this.deployments.create({
      id,
      tenantId: tenant.id,
      name: dto.name ?? `${template.name}-${id.slice(0, 8)}`,
      templateId: template.id,
      templateVersion: version.version,
      replicas,
      perNode: dto.perNode ?? false,
      nodeSelector: dto.nodeSelector ?? {},
      strategy: { ...dto.strategy },
      state: 'active',
      currentRolloutId: null,
      createdAt: now,
      updatedAt: now,
    });
    await this.transactions.run((manager) => manager.insert(DeploymentEntity, deployment));
    await this.changed(deployment);
    return deployment;
  }

  list(principal: Principal): Promise<DeploymentEntity[]> {
    return this.deployments.find({
      where: principal.kind === 'tenant' ? { tenantId: principal.tenantId } : {},
      order: { createdAt: 'ASC' },
    });
  }

  async get(principal: Principal, id: string): Promise<DeploymentEntity> {
    const deployment = await this.deployments.findOneBy({ id });
    // Another tenant's deployment is reported missing, so ids reveal nothing.
    if (!deployment || !mayAccess(principal, deployment.tenantId)) {
      throw new ApiError(ErrorCode.NOT_FOUND, `deployment ${id} not found`);
    }
    return deployment;
  }

  async scale(principal: Principal, id: string, replicas: number): Promise<DeploymentEntity> {
    const deployment = await this.get(principal, id);
    if (deployment.perNode) throw new ApiError(ErrorCode.INVALID_STATE, 'a perNode deployment has no replica count');
    if (deployment.state === 'deleting') throw new ApiError(ErrorCode.INVALID_STATE, `deployment ${id} is being deleted`);
    Object.assign(deployment, { replicas, updatedAt: new Date() });
    await this.transactions.run((manager) => manager.update(DeploymentEntity, { id }, { replicas, updatedAt: deployment.updatedAt }));
    await this.changed(deployment);
    return deployment;
  }

  /** Stops every replica; the deployment disappears once the last one is gone. */
  async delete(principal: Principal, id: string): Promise<DeploymentEntity> {
    const deployment = await this.get(principal, id);
    Object.assign(deployment, { state: 'deleting', updatedAt: new Date() });
    await this.transactions.run((manager) =>
      manager.update(DeploymentEntity, { id }, { state: 'deleting', updatedAt: deployment.updatedAt }),
    );
    await this.changed(deployment);
    return deployment;
  }

  /**
   * For drain: replicas on a node that is no longer `ready` or `cordoned` count as displaced,
   * so the reconciler starts replacements elsewhere and stops the old ones only once the
   * replacements are healthy. Call after marking the node draining; returns how many
   * deployment replicas are on it to move.
   */
  async evacuateNode(nodeId: string): Promise<number> {
    const count = await this.sandboxes.countBy({ nodeId, deploymentId: Not(IsNull()), desiredState: 'running' });
    this.reconciler.kick();
    return count;
  }

  /** Asks the reconciler to act now and shows the change on dashboards. */
  async changed(deployment: DeploymentEntity): Promise<void> {
    this.reconciler.kick();
    this.ui.toTenant(deployment.tenantId, 'deployment:updated', await this.view(deployment));
  }

  /** The representation with live replica counts. */
  async view(deployment: DeploymentEntity): Promise<DeploymentDto> {
    return (await this.views([deployment]))[0];
  }

  async views(deployments: DeploymentEntity[]): Promise<DeploymentDto[]> {
    if (deployments.length === 0) return [];
    const rows = await this.sandboxes.find({
      select: { deploymentId: true, state: true, health: true },
      where: { deploymentId: In(deployments.map((d) => d.id)), desiredState: 'running' },
    });
    const nodes = deployments.some((d) => d.perNode) ? (await this.nodes.findBy({ state: In(['ready', 'unknown']) })).filter(wouldBeReady) : [];
    return deployments.map((deployment) => {
      const desired = deployment.perNode
        ? nodes.filter((n) => matchesSelector(n.labels, deployment.nodeSelector)).length
        : deployment.replicas;
      return DeploymentDto.from(deployment, countReplicas(rows.filter((r) => r.deploymentId === deployment.id), desired));
    });
  }

  /** Replicas wanted now: the count, or the eligible nodes for perNode. */
  async desiredOf(deployment: DeploymentEntity): Promise<number> {
    return (await this.view(deployment)).counts.desired;
  }
}
