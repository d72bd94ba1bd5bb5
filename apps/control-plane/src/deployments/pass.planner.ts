import { Injectable } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { groupBy } from '../common/group-by';
import { NodeEntity, wouldBeReady } from '../nodes/node.entity';
import { isActive, RolloutEntity } from '../rollouts/rollout.entity';
import { planRollout } from '../rollouts/rollout.planner';
import { rollBack } from '../rollouts/rollout.transitions';
import { planSteadyState, type Replica, type ReplicaActions } from '../rollouts/replica';
import { SandboxEntity } from '../sandboxes/model/sandbox.entity';
import { matchesSelector } from '../scheduler/placement';
import { TemplateVersionEntity } from '../templates/model/template.entity';
import { resolveHealthCheck, type ResolvedHealthCheck, type TemplateSpec } from '../templates/model/template-spec';
import { DeploymentDto } from './dto/deployment.dto';
import type { ProbeTarget, ProbeVerdict } from './health.prober';
import { DeploymentEntity } from './model/deployment.entity';
import { countReplicas } from './replica-counts';
import { ReplicaRows, type ReplicaCreation, type ReplicaRow } from './replica.rows';

/**
 * New replicas started per pass. A pass runs as one transaction, which on SQLite holds the
 * event loop until it commits; bounding it keeps sockets (heartbeats, pings) served while a
 * large deployment is created. Rolling rollouts stay within it through maxUnavailable.
 */
const MAX_CREATES_PER_PASS = 1_000;

/** What one pass changed, for what has to happen after its transaction commits. */
export interface PassResult {
  removedPlaced: { id: string; nodeId: string }[];
  removedUnplaced: { id: string; tenantId: string }[];
  pinnedNodes: string[];
  created: number;
  healthChanged: string[];
  rollouts: { rollout: RolloutEntity; tenantId: string }[];
  deployments: DeploymentDto[];
  deleted: { id: string; tenantId: string }[];
  probes: ProbeTarget[];
  again: boolean;
}

/**
 * One pass of the deployment controller, in its transaction: reads every deployment, its
 * active rollout and its replicas, lets the pure planners (planSteadyState, planRollout)
 * decide what to start and stop, and writes it — replicas through ReplicaRows, deployments
 * and rollouts here.
 */
@Injectable()
export class PassPlanner {
  constructor(private readonly replicas: ReplicaRows) {}

  async plan(manager: EntityManager, verdicts: ReadonlyMap<string, ProbeVerdict>, now: Date): Promise<PassResult | undefined> {
    const deployments = await manager.find(DeploymentEntity, { order: { createdAt: 'ASC' } });
    if (deployments.length === 0) return undefined;
    const rolloutIds = deployments.map((d) => d.currentRolloutId).filter((id): id is string => id !== null);
    const rollouts = new Map(
      (rolloutIds.length > 0 ? await manager.findBy(RolloutEntity, { id: In(rolloutIds) }) : []).map((r) => [r.id, r]),
    );
    const specs = await loadSpecs(manager, [...new Set(deployments.map((d) => d.templateId))]);
    const checks = new Map([...specs].map(([key, spec]) => [key, resolveHealthCheck(spec)]));
    const checkOf = (row: ReplicaRow): ResolvedHealthCheck | undefined =>
      row.templateId && row.templateVersion !== null ? checks.get(specKey(row.templateId, row.templateVersion)) : undefined;
    const nodes = await manager.find(NodeEntity);
    const rows = await this.replicas.load(manager);
    const result: PassResult = {
      removedPlaced: [],
      removedUnplaced: [],
      pinnedNodes: [],
      created: 0,
      healthChanged: await this.replicas.applyHealth(manager, rows, checkOf, verdicts, now),
      rollouts: [],
      deployments: [],
      deleted: [],
      probes: probeTargets(rows, checkOf, nodes),
      again: false,
    };
    const byDeployment = groupBy(rows, (row) => row.deploymentId ?? '');
    const nodeById = new Map(nodes.map((node) => [node.id, node]));
    const removals: ReplicaRow[] = [];
    const creations: ReplicaCreation[] = [];
    const changedDeployments: DeploymentEntity[] = [];
    let createBudget = MAX_CREATES_PER_PASS;

    for (const deployment of deployments) {
      const own = byDeployment.get(deployment.id) ?? [];
      if (deployment.state === 'deleting') {
        removals.push(...own);
        continue;
      }
      // A node not reconnected since this control plane started keeps its replica (and counts),
      // but gets no new one until it says hello.
      const eligible = deployment.perNode
        ? nodes.filter((n) => wouldBeReady(n) && matchesSelector(n.labels, deployment.nodeSelector)).map((n) => n.id)
        : undefined;
      const desired = eligible ? eligible.length : deployment.replicas;
      const eligibleSet = eligible && new Set(eligible);
      const replicas = own.map((row) => toReplica(row, nodeById, eligibleSet));
      const before = JSON.stringify(deployment);
      const actions = decide(deployment, rollouts, replicas, desired, now, result);
      if (JSON.stringify(deployment) !== before) changedDeployments.push(deployment);

      const removed = new Set(actions.remove);
      removals.push(...own.filter((row) => removed.has(row.id)));
      for (const { version, count: wanted } of actions.create) {
        const count = Math.min(wanted, createBudget);
        createBudget -= count;
        if (count < wanted) result.again = true;
        const occupied = new Set(own.filter((r) => r.templateVersion === version && !removed.has(r.id)).map((r) => r.nodeId));
        const pinTo = eligible?.filter((nodeId) => !occupied.has(nodeId) && nodeById.get(nodeId)?.state === 'ready').slice(0, count);
        const spec = specs.get(specKey(deployment.templateId, version));
        creations.push({ deployment, version, spec, count: pinTo ? pinTo.length : count, pinTo });
      }
      const remaining = own.filter((row) => !removed.has(row.id));
      result.deployments.push(DeploymentDto.from(deployment, countReplicas(remaining, desired)));
    }

    const deleting = new Set(deployments.filter((d) => d.state === 'deleting').map((d) => d.id));
    Object.assign(result, await this.replicas.remove(manager, removals, deleting, now));
    Object.assign(result, await this.replicas.create(manager, creations, now));
    for (const deployment of changedDeployments) await manager.save(DeploymentEntity, deployment);
    for (const { rollout } of result.rollouts) await manager.save(RolloutEntity, rollout);
    await finishDeletions(manager, deployments, byDeployment, result);
    return result;
  }
}

/** The actions for one deployment: its active rollout's, or the steady state's. */
function decide(
  deployment: DeploymentEntity,
  rollouts: Map<string, RolloutEntity>,
  replicas: Replica[],
  desired: number,
  now: Date,
  result: PassResult,
): ReplicaActions {
  const rollout = deployment.currentRolloutId ? rollouts.get(deployment.currentRolloutId) : undefined;
  if (!rollout || !isActive(rollout.state)) {
    // A failed rollout without autoRollback holds the deployment as it is until the next rollout.
    if (rollout?.state === 'failed') return { create: [], remove: [] };
    return planSteadyState(replicas, deployment.templateVersion, desired, now);
  }
  const before = JSON.stringify(rollout);
  const plan = planRollout(rollout, replicas, desired, now);
  const { state, steps, progress, lastProgressAt } = plan.rollout;
  Object.assign(rollout, { state, steps, progress, lastProgressAt, reason: plan.rollout.reason ?? rollout.reason });
  if (plan.outcome === 'completed') {
    Object.assign(rollout, { finishedAt: now });
    Object.assign(deployment, { templateVersion: rollout.toVersion, state: 'active', currentRolloutId: null, updatedAt: now });
  } else if (plan.outcome === 'failed') {
    rollout.finishedAt = now;
    deployment.state = 'active';
    deployment.updatedAt = now;
    if (rollout.strategy.autoRollback) {
      rollBack(rollout, `${rollout.reason ?? 'failed'}; rolled back to version ${rollout.fromVersion}`, now);
      deployment.currentRolloutId = null;
      result.again = true;
    }
  }
  if (JSON.stringify(rollout) !== before) result.rollouts.push({ rollout, tenantId: deployment.tenantId });
  return plan;
}

/** Drops deployments being deleted once none of their sandboxes is left, stopping ones included. */
async function finishDeletions(
  manager: EntityManager,
  deployments: DeploymentEntity[],
  byDeployment: Map<string, ReplicaRow[]>,
  result: PassResult,
): Promise<void> {
  for (const deployment of deployments.filter((d) => d.state === 'deleting')) {
    if ((byDeployment.get(deployment.id) ?? []).length > 0) {
      result.again = true;
      continue;
    }
    if (await manager.existsBy(SandboxEntity, { deploymentId: deployment.id })) continue;
    await manager.delete(RolloutEntity, { deploymentId: deployment.id });
    await manager.delete(DeploymentEntity, { id: deployment.id });
    result.deleted.push({ id: deployment.id, tenantId: deployment.tenantId });
  }
}

function specKey(templateId: string, version: number): string {
  return `${templateId}@${version}`;
}

async function loadSpecs(manager: EntityManager, templateIds: string[]): Promise<Map<string, TemplateSpec>> {
  const versions = templateIds.length > 0 ? await manager.findBy(TemplateVersionEntity, { templateId: In(templateIds) }) : [];
  return new Map(versions.map((v) => [specKey(v.templateId, v.version), v.spec]));
}

function probeTargets(rows: ReplicaRow[], checkOf: (row: ReplicaRow) => ResolvedHealthCheck | undefined, nodes: readonly NodeEntity[]): ProbeTarget[] {
  // A node that is not connected cannot relay the check: its failing would say nothing about the replica.
  const connected = new Set(nodes.filter((n) => n.state !== 'down' && n.state !== 'unknown').map((n) => n.id));
  const targets: ProbeTarget[] = [];
  for (const row of rows) {
    const check = checkOf(row);
    if (check && row.state === 'running' && row.nodeId && connected.has(row.nodeId)) targets.push({ sandboxId: row.id, nodeId: row.nodeId, check });
  }
  return targets;
}

function toReplica(row: ReplicaRow, nodes: Map<string, NodeEntity>, eligible: Set<string> | undefined): Replica {
  const node = row.nodeId ? nodes.get(row.nodeId) : undefined;
  // Cordoned nodes keep what they run, and so do nodes not reconnected since this control plane
  // started (unless they were draining); draining, down or vanished nodes give it up.
  const nodeKeeps =
    node !== undefined && (node.state === 'ready' || node.state === 'cordoned' || (node.state === 'unknown' && node.unschedulable !== 'draining'));
  const displaced = row.nodeId !== null && (!nodeKeeps || (eligible !== undefined && !eligible.has(row.nodeId)));
  return {
    id: row.id,
    nodeId: row.nodeId,
    version: row.templateVersion ?? 0,
    state: row.state,
    health: row.health,
    healthySince: row.healthySince,
    createdAt: row.createdAt,
    displaced,
    restarting: row.restarting,
  };
}
