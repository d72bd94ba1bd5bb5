import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import type { Principal } from '../auth/principal';
import { ApiError, ErrorCode } from '../common/api.error';
import { UiChannel } from '../dashboard/ui.channel';
import { Transactions } from '../database/transactions.service';
import { RolloutDto } from '../rollouts/dto/rollout.dto';
import { isActive, RolloutEntity } from '../rollouts/rollout.entity';
import { initialSteps } from '../rollouts/rollout.planner';
import { applyAction, type RolloutAction } from '../rollouts/rollout.transitions';
import { TemplatesService } from '../templates/templates.service';
import { DeploymentEntity } from './model/deployment.entity';
import { DeploymentsService } from './deployments.service';

/** Rollouts move a deployment to another template version; the reconciler carries them out. */
@Injectable()
export class RolloutsService {
  constructor(
    @InjectRepository(RolloutEntity) private readonly rollouts: Repository<RolloutEntity>,
    private readonly transactions: Transactions,
    private readonly deployments: DeploymentsService,
    private readonly templates: TemplatesService,
    private readonly ui: UiChannel,
  ) {}

  /** Starts a rollout of the deployment to `toVersion`, with the deployment's strategy. */
  async create(principal: Principal, deploymentId: string, toVersion: number): Promise<RolloutEntity> {
    const deployment = await this.deployments.get(principal, deploymentId);
    await this.templates.getVersion(principal, deployment.templateId, toVersion);
    const desired = await this.deployments.desiredOf(deployment);
    const now = new Date();
    const rollout = this.rollouts.create({
      id: randomUUID(),
      deploymentId,
      fromVersion: deployment.templateVersion,
      toVersion,
      strategy: deployment.strategy,
      state: 'progressing',
      steps: initialSteps(deployment.strategy, desired),
      progress: { old: 0, new: 0, healthy: 0, unavailable: 0, desired },
      promoted: false,
      reason: null,
      lastProgressAt: now,
      createdAt: now,
      finishedAt: null,
    });
    const refusal = await this.transactions.run(async (manager) => {
      const current = await manager.findOneByOrFail(DeploymentEntity, { id: deploymentId });
      if (current.state === 'deleting') return `deployment ${deploymentId} is being deleted`;
      const active = current.currentRolloutId
        ? await manager.findOneBy(RolloutEntity, { id: current.currentRolloutId })
        : null;
      if (active && isActive(active.state)) return `rollout ${active.id} is still ${active.state}`;
      await manager.insert(RolloutEntity, rollout);
      await manager.update(DeploymentEntity, { id: deploymentId }, { currentRolloutId: rollout.id, state: 'rolling', updatedAt: now });
      return undefined;
    });
    if (refusal) throw new ApiError(ErrorCode.INVALID_STATE, refusal);
    this.ui.toTenant(deployment.tenantId, 'rollout:updated', RolloutDto.from(rollout));
    await this.deployments.changed({ ...deployment, currentRolloutId: rollout.id, state: 'rolling' });
    return rollout;
  }

  async listFor(principal: Principal, deploymentId: string): Promise<RolloutEntity[]> {
    await this.deployments.get(principal, deploymentId);
    return this.rollouts.find({ where: { deploymentId }, order: { createdAt: 'DESC' } });
  }

  async get(principal: Principal, id: string): Promise<RolloutEntity> {
    const rollout = await this.rollouts.findOneBy({ id });
    if (!rollout) throw new ApiError(ErrorCode.NOT_FOUND, `rollout ${id} not found`);
    try {
      await this.deployments.get(principal, rollout.deploymentId);
    } catch (cause) {
      throw new ApiError(ErrorCode.NOT_FOUND, `rollout ${id} not found`, { cause });
    }
    return rollout;
  }

  /** pause, resume, abort (back to the version it came from) or promote (canary, blue-green). */
  async act(principal: Principal, id: string, action: RolloutAction): Promise<RolloutEntity> {
    const { deploymentId } = await this.get(principal, id);
    const now = new Date();
    const outcome = await this.transactions.run(async (manager) => {
      const rollout = await manager.findOneByOrFail(RolloutEntity, { id });
      const problem = applyAction(rollout, action, now);
      if (problem) return { problem };
      await manager.save(RolloutEntity, rollout);
      const deployment = await manager.findOneByOrFail(DeploymentEntity, { id: deploymentId });
      if (!isActive(rollout.state) && deployment.currentRolloutId === id) {
        Object.assign(deployment, { currentRolloutId: null, state: deployment.state === 'deleting' ? 'deleting' : 'active', updatedAt: now });
        await manager.save(DeploymentEntity, deployment);
      }
      return { rollout, deployment };
    });
    if ('problem' in outcome) throw new ApiError(ErrorCode.INVALID_STATE, outcome.problem ?? 'not possible now');
    this.ui.toTenant(outcome.deployment.tenantId, 'rollout:updated', RolloutDto.from(outcome.rollout));
    await this.deployments.changed(outcome.deployment);
    return outcome.rollout;
  }
}
