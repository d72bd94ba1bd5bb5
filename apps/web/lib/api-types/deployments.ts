// Templates, deployments and rollouts as the API shows them.
import type { DnsConfig, EgressPolicy, NetworkModel, RestartPolicy, RootfsMode } from './sandboxes';

export interface HealthCheck {
  command: string[];
  intervalMs?: number;
  timeoutMs?: number;
  failureThreshold?: number;
}

export interface TemplateSpec {
  image?: string;
  command?: string[];
  vcpus: number;
  memoryMiB: number;
  env?: Record<string, string>;
  networkModel?: NetworkModel;
  rootfs?: RootfsMode;
  labels?: Record<string, string>;
  egress?: EgressPolicy;
  dns?: DnsConfig;
  healthCheck?: HealthCheck;
  restartPolicy?: RestartPolicy;
}

export interface TemplateSummary {
  id: string;
  name: string;
  latestVersion: number;
  tenantId?: string;
  createdAt?: string;
}

export interface TemplateVersion extends TemplateSpec {
  version: number;
  createdAt: string;
}

export interface TemplateDetail {
  id: string;
  name: string;
  latestVersion: number;
  versions: TemplateVersion[];
}

export type StrategyType = 'rolling' | 'canary' | 'blue-green' | 'immediate';

export interface Strategy {
  type: StrategyType;
  /** A count or a percentage of the desired replicas, e.g. `"10%"` (as the API stores it). */
  maxUnavailable: number | string;
  maxSurge: number | string;
  canaryReplicas?: number;
  autoPromote?: boolean;
  minHealthySeconds?: number;
  progressDeadlineSeconds?: number;
  autoRollback: boolean;
}

export interface Deployment {
  id: string;
  name: string;
  tenantId: string;
  templateId: string;
  templateVersion: number;
  replicas: number | null;
  perNode: boolean;
  nodeSelector: Record<string, string> | null;
  strategy: Strategy;
  state: 'active' | 'rolling' | 'deleting';
  counts: { desired: number; running: number; healthy: number; unhealthy: number };
  currentRolloutId: string | null;
  createdAt: string;
}

export interface CreateDeploymentRequest {
  name?: string;
  templateId: string;
  templateVersion?: number;
  replicas?: number;
  perNode?: true;
  strategy: Strategy;
}

export type RolloutState = 'progressing' | 'paused' | 'completed' | 'failed' | 'rolled-back';

export interface RolloutStep {
  index: number;
  name: string;
  state: 'pending' | 'running' | 'done' | 'failed';
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Rollout {
  id: string;
  deploymentId: string;
  fromVersion: number;
  toVersion: number;
  strategy: Strategy;
  state: RolloutState;
  steps: RolloutStep[];
  progress: { old: number; new: number; healthy: number; unavailable: number; desired: number };
  reason: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export type RolloutAction = 'pause' | 'resume' | 'abort' | 'promote';
export type NodeAction = 'cordon' | 'uncordon' | 'drain';
