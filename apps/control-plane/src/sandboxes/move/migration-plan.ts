import type { ErrorInfo } from '@moat/proto';
import { ErrorCode } from '../../common/api.error';
import type { NodeEntity } from '../../nodes/node.entity';
import { wholeVmRefusal } from '../model/hibernation';
import type { SandboxEntity } from '../model/sandbox.entity';

/** A refusal as the API gives it: its code and message. */
export interface Refusal {
  code: ErrorCode;
  message: string;
}

export type MigratableSandbox = Pick<SandboxEntity, 'id' | 'rootfs' | 'state' | 'desiredState' | 'desiredHibernated' | 'movingTo' | 'nodeId'>;

/**
 * Why the sandbox cannot be live-migrated now, or undefined when it can: only a `rootfs: "block"`
 * one (as for hibernate: QEMU migrates no shared filesystem; MIGRATION_UNSUPPORTED), and only
 * while it runs on its node, meant to, with no move under way (SANDBOX_NOT_RUNNING).
 */
export function migrationRefusal(sandbox: MigratableSandbox): Refusal | undefined {
  const unsupported = wholeVmRefusal(sandbox);
  if (unsupported) return { code: ErrorCode.MIGRATION_UNSUPPORTED, message: `${unsupported}: only one created with rootfs "block" can be live-migrated` };
  if (sandbox.state === 'migrating' && sandbox.desiredState === 'running') {
    return { code: ErrorCode.SANDBOX_NOT_RUNNING, message: `sandbox ${sandbox.id} is migrating to node ${sandbox.movingTo ?? '?'} already` };
  }
  if (sandbox.state !== 'running' || sandbox.desiredState !== 'running' || sandbox.desiredHibernated || sandbox.movingTo !== null || !sandbox.nodeId) {
    const doing = sandbox.desiredState === 'running' && sandbox.desiredHibernated ? ', asked to hibernate' : '';
    return { code: ErrorCode.SANDBOX_NOT_RUNNING, message: `sandbox ${sandbox.id} is ${sandbox.state}${doing}: only a running sandbox can be live-migrated` };
  }
  return undefined;
}

/**
 * Why the node named as a migration's target cannot take the sandbox (null: no such node;
 * `shortfall`: what it lacks for it, read for a ready node only), or undefined when it can: it
 * must exist (NODE_NOT_FOUND), be another than the sandbox's, ready — not cordoned, draining,
 * down or not heard from since the control plane started (INVALID_STATE) — and have room
 * (INSUFFICIENT_RESOURCES).
 */
export function targetRefusal(
  node: Pick<NodeEntity, 'id' | 'name' | 'state'> | null,
  nodeId: string,
  sandbox: Pick<SandboxEntity, 'id' | 'nodeId'>,
  shortfall: string | undefined,
): Refusal | undefined {
  if (!node) return { code: ErrorCode.NODE_NOT_FOUND, message: `node ${nodeId} not found` };
  if (node.id === sandbox.nodeId) return { code: ErrorCode.INVALID_STATE, message: `sandbox ${sandbox.id} runs on node ${node.name} already` };
  if (node.state !== 'ready') return { code: ErrorCode.INVALID_STATE, message: `node ${node.name} is ${node.state}: a sandbox can only migrate to a ready node` };
  if (shortfall !== undefined) return { code: ErrorCode.INSUFFICIENT_RESOURCES, message: `node ${node.name} has no room for sandbox ${sandbox.id}: ${shortfall}` };
  return undefined;
}

/** What a drain by migration does with one sandbox of the node: migrates it, or says why not and what happens instead. */
export type DrainStep = { kind: 'migrate' } | { kind: 'fallback'; reason: ErrorInfo };

/**
 * What a drain by migration does with a sandbox meant to run on the draining node: a running
 * `rootfs: "block"` sandbox is live-migrated (where the scheduler places it); a deployment's
 * replica is replaced by its deployment on another node, as a drain always does (its
 * reconciler starts the replacement and stops the old one once it is healthy); any other stays
 * on the node — the drain's "replace" handling — and `reason` (DRAIN_FALLBACK) says why.
 */
export function drainStep(sandbox: MigratableSandbox & Pick<SandboxEntity, 'deploymentId'>): DrainStep {
  const fallback = (message: string): DrainStep => ({ kind: 'fallback', reason: { code: 'DRAIN_FALLBACK', message } });
  if (sandbox.deploymentId !== null) return fallback(`its deployment ${sandbox.deploymentId} replaces it on another node`);
  const refusal = migrationRefusal(sandbox);
  if (!refusal) return { kind: 'migrate' };
  if (refusal.code === ErrorCode.MIGRATION_UNSUPPORTED) {
    return fallback(`it cannot migrate (rootfs ${sandbox.rootfs ?? "(the node's default)"}; only "block" can): it keeps running on its node until deleted`);
  }
  if (sandbox.state === 'migrating') return fallback(`it is migrating already`);
  if (sandbox.desiredHibernated || sandbox.state === 'hibernated') return fallback(`it is ${sandbox.state}, not running: it wakes on another node when woken`);
  return fallback(`it is ${sandbox.state}, not running: it stays on its node`);
}
