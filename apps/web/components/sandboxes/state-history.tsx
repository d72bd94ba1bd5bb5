'use client';

import { formatTimestamp } from '@/lib/format';
import { stateHistory } from '@/lib/sandbox-history';
import type { Sandbox } from '@moat/sdk';
import { StateBadge } from '../ui/state-badge';

/** The sandbox's state changes as the control plane recorded them, oldest first, with their reasons. */
export function StateHistory({ sandbox }: { sandbox: Sandbox }) {
  const history = stateHistory(sandbox);
  return (
    <section className="card" aria-labelledby="history-heading">
      <h2 id="history-heading">State history</h2>
      {history.length === 0 ? (
        <p className="hint">No state changes recorded for this sandbox.</p>
      ) : (
        <ol className="history">
          {history.map((entry, index) => (
            <li key={`${index}-${entry.at}-${entry.state}`}>
              <StateBadge state={entry.state} /> <time dateTime={entry.at}>{formatTimestamp(entry.at)}</time>
              {entry.reason && (
                <>
                  {' '}
                  <span className="hint" title={entry.detail ?? undefined}>
                    {entry.reason}
                  </span>
                </>
              )}
            </li>
          ))}
        </ol>
      )}
      <p className="hint">Recorded by the control plane, oldest first (the latest 50).</p>
    </section>
  );
}
