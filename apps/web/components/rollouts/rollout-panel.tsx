'use client';

import Link from 'next/link';
import { useFleet } from '@/lib/fleet/fleet.context';
import { formatTimestamp, shortId } from '@/lib/format';
import type { Rollout, RolloutAction } from '@moat/sdk';
import { ConfirmButton } from '../ui/confirm-button';
import { StateBadge } from '../ui/state-badge';

function actionsFor(rollout: Rollout): RolloutAction[] {
  switch (rollout.state) {
    case 'progressing':
      return rollout.strategy.type === 'canary' ? ['pause', 'promote', 'abort'] : ['pause', 'abort'];
    case 'paused':
      return ['resume', 'promote', 'abort'];
    case 'completed':
    case 'failed':
    case 'rolled-back':
      return [];
  }
}

const ACTION_TEXT: Record<RolloutAction, { label: string; explain: string }> = {
  pause: { label: 'Pause', explain: 'No further replicas are replaced until it is resumed.' },
  resume: { label: 'Resume', explain: 'Replacing replicas continues from the current step.' },
  promote: { label: 'Promote', explain: 'The new version replaces the rest without waiting for further steps.' },
  abort: { label: 'Abort', explain: 'The rollout stops and the deployment goes back to the old version.' },
};

/** A rollout's live progress: counts, the steps with the wave in flight, and its controls. */
export function RolloutPanel({ rollout, showLink }: { rollout: Rollout; showLink?: boolean }) {
  const { api, dispatch } = useFleet();
  const { progress } = rollout;
  const desired = Math.max(progress.desired, 1);
  const headingId = `rollout-${rollout.id}`;
  return (
    <section className="card" aria-labelledby={headingId} data-rollout-id={rollout.id}>
      <div className="page__header">
        <h2 id={headingId}>
          Rollout v{rollout.fromVersion} → v{rollout.toVersion}{' '}
          {showLink && <Link href={`/rollouts/${rollout.id}`}>{shortId(rollout.id)}</Link>}
        </h2>
        <div className="actions">
          <StateBadge state={rollout.state} />
          {actionsFor(rollout).map((action) => (
            <ConfirmButton
              key={action}
              label={ACTION_TEXT[action].label}
              title={`${ACTION_TEXT[action].label} this rollout?`}
              confirmLabel={`${ACTION_TEXT[action].label} rollout`}
              danger={action === 'abort'}
              onConfirm={async () => {
                const item = await api.rolloutAction(rollout.id, action);
                dispatch({ type: 'upsert', collection: 'rollouts', item });
              }}
            >
              <p>{ACTION_TEXT[action].explain}</p>
            </ConfirmButton>
          ))}
        </div>
      </div>
      <p className="rollout__counts" aria-live="polite">
        {progress.new} new, {progress.old} old, {progress.healthy} healthy, {progress.unavailable} unavailable of{' '}
        {progress.desired} desired ({rollout.strategy.type})
      </p>
      <div className="replicas__track rollout__bar" aria-hidden="true">
        <span className="replicas__healthy" style={{ width: `${(progress.new / desired) * 100}%` }} />
        <span className="replicas__old" style={{ width: `${(progress.old / desired) * 100}%` }} />
      </div>
      <ol className="steps">
        {rollout.steps.map((step) => (
          <li key={step.index} className={`step step--${step.state}`} aria-current={step.state === 'running' ? 'step' : undefined}>
            <span className="step__name">{step.name}</span> <StateBadge state={step.state} />
            {step.finishedAt && <span className="hint"> {formatTimestamp(step.finishedAt)}</span>}
          </li>
        ))}
      </ol>
      {rollout.reason && (
        <p className={rollout.state === 'completed' ? 'hint' : 'banner banner--inline'}>Reason: {rollout.reason}</p>
      )}
    </section>
  );
}
