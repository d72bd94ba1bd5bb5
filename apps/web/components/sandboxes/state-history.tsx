'use client';

import { useFleet } from '@/lib/fleet/fleet.context';
import { formatTimestamp } from '@/lib/format';
import type { Sandbox } from '@/lib/types';
import { StateBadge } from '../ui/state-badge';

/** The states this page saw the sandbox in, oldest first, starting from its creation. */
export function StateHistory({ sandbox }: { sandbox: Sandbox }) {
  const { state } = useFleet();
  const seen = state.history[sandbox.id] ?? [];
  const changes = seen[0]?.state === 'pending' ? seen : [{ state: 'pending' as const, at: sandbox.createdAt }, ...seen];
  return (
    <section className="card" aria-labelledby="history-heading">
      <h2 id="history-heading">State history</h2>
      <ol className="history">
        {changes.map((change, index) => (
          <li key={`${index}-${change.state}`}>
            <StateBadge state={change.state} /> <time dateTime={change.at}>{formatTimestamp(change.at)}</time>
          </li>
        ))}
      </ol>
      <p className="hint">Changes are listed as this page saw them; the first is the creation time.</p>
    </section>
  );
}
