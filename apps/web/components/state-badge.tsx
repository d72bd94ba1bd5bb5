import type { NodeState, SandboxState } from '@/lib/types';

/** The state in words, coloured; the text alone carries the meaning. */
export function StateBadge({ state }: { state: SandboxState | NodeState }) {
  return <span className={`badge badge--${state}`}>{state}</span>;
}
