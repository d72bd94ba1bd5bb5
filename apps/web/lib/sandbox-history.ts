import type { Sandbox, SandboxState } from '@moat/sdk';

/** One line of a sandbox's state history. */
export interface HistoryEntry {
  /** ISO 8601. */
  at: string;
  state: SandboxState;
  /** `CODE: first line of the message`, for failures, restarts, deletes and nodes going away. */
  reason: string | null;
  /** The reason's whole message (a VMM's failure may carry its console's last lines). */
  detail: string | null;
}

/**
 * The sandbox's state changes as the control plane recorded them, oldest first — not what
 * this page happened to see.
 */
export function stateHistory(sandbox: Pick<Sandbox, 'events'>): HistoryEntry[] {
  return sandbox.events.map((event) => ({
    at: event.at,
    state: event.state,
    reason: event.reason ? `${event.reason.code}: ${event.reason.message.split('\n')[0]}` : null,
    detail: event.reason && event.reason.message.includes('\n') ? event.reason.message : null,
  }));
}

/** Its restart policy in words: "never", or "on failure, 1 of 3 restarts used (backoff 1 s, doubling)". */
export function restartSummary(sandbox: Pick<Sandbox, 'restartPolicy' | 'restartCount'>): string {
  const policy = sandbox.restartPolicy;
  if (policy.type === 'never') return 'never';
  const used = sandbox.restartCount;
  const max = policy.maxRestarts ?? 3;
  return `on failure, ${used} of ${max} restart${max === 1 ? '' : 's'} used (backoff ${policy.backoffSeconds ?? 1} s, doubling)`;
}
