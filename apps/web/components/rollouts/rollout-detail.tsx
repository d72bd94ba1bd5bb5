'use client';

import Link from 'next/link';
import { useEffect, useState } from 'react';
import { useFleet } from '@/lib/fleet/fleet.context';
import { shortId } from '@/lib/format';
import { RolloutPanel } from './rollout-panel';

export function RolloutDetail({ id }: { id: string }) {
  const { api, dispatch, explain, state } = useFleet();
  const [error, setError] = useState<string | null>(null);
  const rollout = state.rollouts.items[id];

  useEffect(() => {
    let current = true;
    api.rollout(id).then(
      (item) => {
        if (current) dispatch({ type: 'upsert', collection: 'rollouts', item });
      },
      (err: unknown) => {
        if (current) setError(`Could not load the rollout: ${explain(err)}`);
      },
    );
    return () => {
      current = false;
    };
  }, [api, dispatch, explain, id]);

  return (
    <>
      <h1>Rollout {shortId(id)}</h1>
      {rollout ? (
        <>
          <p>
            Deployment <Link href={`/deployments/${rollout.deploymentId}`}>{shortId(rollout.deploymentId)}</Link>
          </p>
          <RolloutPanel rollout={rollout} />
        </>
      ) : error ? (
        <p role="alert">{error}</p>
      ) : (
        <p role="status">Loading…</p>
      )}
    </>
  );
}
