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
