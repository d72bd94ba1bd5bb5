import type { DnsConfig, EgressPolicy, NetworkModel, RootfsKind } from '@moat/proto';
import type { RestartPolicy } from '../../sandboxes/model/restart-policy';

/** How a template's sandboxes are probed; the command runs in the sandbox through its guest agent. */
export interface HealthCheck {
  command: string[];
  intervalMs?: number;
  timeoutMs?: number;
  failureThreshold?: number;
}


/** What one immutable template version describes: the sandboxes a deployment of it runs. */
export interface TemplateSpec {
  image?: string;
  command?: string[];
  vcpus: number;
  memoryMiB: number;
  env?: Record<string, string>;
  networkModel?: NetworkModel;
  rootfs?: RootfsKind;
  /** Its sandboxes hibernate once unused this long (only with rootfs block); absent: never. */
  idleTimeoutSeconds?: number;
  labels?: Record<string, string>;
  /** Where its sandboxes' traffic may go; absent: everywhere but what nodes always refuse. */
  egress?: EgressPolicy;
  /** Its sandboxes' resolvers; absent: the node's. */
  dns?: DnsConfig;
  healthCheck?: HealthCheck;
  /** What happens to a replica its node reports failed; absent: never restarted (the deployment replaces it). */
  restartPolicy?: RestartPolicy;
}

/** A health check with its defaults filled in. */
export type ResolvedHealthCheck = Required<HealthCheck>;

export const HEALTH_CHECK_DEFAULTS = { intervalMs: 2_000, timeoutMs: 5_000, failureThreshold: 3 } as const;

/** The template's health check with defaults, or undefined when it has none (running means healthy). */
export function resolveHealthCheck(spec: TemplateSpec): ResolvedHealthCheck | undefined {
  const check = spec.healthCheck;
  if (!check) return undefined;
  return {
    command: check.command,
    intervalMs: check.intervalMs ?? HEALTH_CHECK_DEFAULTS.intervalMs,
    timeoutMs: check.timeoutMs ?? HEALTH_CHECK_DEFAULTS.timeoutMs,
    failureThreshold: check.failureThreshold ?? HEALTH_CHECK_DEFAULTS.failureThreshold,
  };
}
