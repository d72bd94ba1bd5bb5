import type { ErrorInfo, SandboxState } from '@moat/proto';
import type { SandboxEntity } from './sandbox.entity';

/**
 * The errors with which a node keeps a sandbox `running` that it was asked to hibernate: it
 * cannot save that VM, or saving it failed. The control plane then stops asking.
 */
const HIBERNATE_REFUSALS: readonly string[] = ['HIBERNATE_UNSUPPORTED', 'HIBERNATE_FAILED'];

/**
 * The states in which a sandbox may be asked to hibernate or to wake: running, or on its way
 * into or out of hibernation (a request then only turns it around).
 */
export const HIBERNATION_STATES: readonly SandboxState[] = ['running', 'hibernating', 'hibernated', 'waking'];

/**
 * Whether the sandbox's whole VM can be saved or sent to another node — hibernate, fork, live
 * migration: only one created with `rootfs: "block"` (QEMU saves or migrates no shared
 * filesystem). Otherwise, the words saying which rootfs it has.
 */
export function wholeVmRefusal(sandbox: Pick<SandboxEntity, 'id' | 'rootfs'>): string | undefined {
  if (sandbox.rootfs === 'block') return undefined;
  return `sandbox ${sandbox.id} has rootfs ${sandbox.rootfs ?? "(the node's default)"}`;
}

/**
 * How long an exec, attach or file request waits for the hibernated sandbox it woke to run again:
 * a wake takes a second or two under TCG here, more on a node busy waking many at once.
 */
export const WAKE_ON_USE_TIMEOUT_MS = 120_000;

/**
 * Hibernated, on its way there or back, or running but asked to go: an exec, attach or file
 * request wakes it first (wake-on-use).
 */
export function wakesOnUse(sandbox: Pick<SandboxEntity, 'desiredState' | 'desiredHibernated' | 'state'>): boolean {
  if (sandbox.desiredState !== 'running' || !HIBERNATION_STATES.includes(sandbox.state)) return false;
  return sandbox.desiredHibernated || sandbox.state !== 'running';
}

export function isHibernateRefusal(error: ErrorInfo | undefined): error is ErrorInfo {
  return error !== undefined && HIBERNATE_REFUSALS.includes(error.code);
}

/**
 * Hibernated and meant to stay so: its VM is gone, so its vCPUs and memory count neither on its
 * node nor against its tenant's quota (it still counts as one of the tenant's sandboxes). A
 * wake asks for them back at once.
 */
export function isReleased(sandbox: Pick<SandboxEntity, 'desiredHibernated' | 'state'>): boolean {
  return sandbox.desiredHibernated && sandbox.state === 'hibernated';
}

/**
 * SQL summing `value` (a column, or 1 to count) over the rows of alias `s`, leaving out those
 * of released sandboxes (see isReleased); bind its parameters with `RELEASED_PARAMETERS`.
 */
export function heldSum(value: 's.vcpus' | 's.memoryMiB' | '1'): string {
  return `COALESCE(SUM(CASE WHEN s.desiredHibernated = :hibernate AND s.state = :hibernated THEN 0 ELSE ${value} END), 0)`;
}

/** The parameters of {@link heldSum}. */
export const RELEASED_PARAMETERS = { hibernate: true, hibernated: 'hibernated' } as const;
