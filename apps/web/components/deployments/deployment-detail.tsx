'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState, type FormEvent } from 'react';
import { useCollection, useFleet } from '@/lib/fleet/fleet.context';
import { sandboxList } from '@/lib/fleet/fleet.reducer';
import { textField } from '@/lib/form-data';
import { formatTimestamp, shortId } from '@/lib/format';
import type { Deployment, TemplateDetail } from '@moat/sdk';
import { RolloutPanel } from '../rollouts/rollout-panel';
import { SandboxesTable } from '../sandboxes/sandboxes-table';
import { ConfirmButton } from '../ui/confirm-button';
import { DataTable, type DataTableColumn } from '../ui/data-table';
import { LoadStatus } from '../ui/load-status';
import { StateBadge } from '../ui/state-badge';
import { ReplicaHealth } from './replica-health';

const ROLLOUT_COLUMNS: readonly DataTableColumn[] = [
  { label: 'Rollout' },
  { label: 'Versions' },
  { label: 'State' },
  { label: 'Started', optional: true },
  { label: 'Reason' },
];

export function DeploymentDetail({ id }: { id: string }) {
  const { api, dispatch, explain, state } = useFleet();
  const router = useRouter();
  const deployments = useCollection('deployments');
  const sandboxes = useCollection('sandboxes');
  const [historyError, setHistoryError] = useState<string | null>(null);
  const deployment = deployments.items[id];

  useEffect(() => {
    let current = true;
    api.listRollouts(id).then(
      (rollouts) => {
        if (!current) return;
        for (const item of rollouts) dispatch({ type: 'upsert', collection: 'rollouts', item });
      },
      (err: unknown) => {
        if (current) setHistoryError(`Could not load the rollouts: ${explain(err)}`);
      },
    );
    return () => {
      current = false;
    };
  }, [api, dispatch, explain, id]);

  if (!deployment) {
    return (
      <>
        <h1>Deployment</h1>
        <LoadStatus loaded={deployments.loaded} error={deployments.error} empty="There is no deployment with this id." />
      </>
    );
  }
  const rollouts = Object.values(state.rollouts.items)
    .filter((r) => r.deploymentId === id)
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  const current = deployment.currentRolloutId ? state.rollouts.items[deployment.currentRolloutId] : rollouts[0];
  const replicas = sandboxList(sandboxes.items).filter((s) => s.deploymentId === id);

  return (
    <>
      <div className="page__header">
        <div>
          <h1>Deployment {deployment.name}</h1>
          <p className="hint">
            <Link href={`/templates/${deployment.templateId}`}>Template</Link> v{deployment.templateVersion},{' '}
            {deployment.perNode ? 'one per node' : `${deployment.replicas} replicas`}, {deployment.strategy.type}
          </p>
        </div>
        <div className="actions">
          <StateBadge state={deployment.state} />
          <ConfirmButton
            label="Delete"
            title={`Delete deployment ${deployment.name}?`}
            confirmLabel="Delete deployment"
            danger
            onConfirm={async () => {
              await api.deleteDeployment(deployment.id);
              router.push('/deployments');
            }}
          >
            <p>All its replicas are deleted.</p>
          </ConfirmButton>
        </div>
      </div>
      <div className="grid">
        <section className="card" aria-labelledby="replica-health">
          <h2 id="replica-health">Replica health</h2>
          <ReplicaHealth counts={deployment.counts} />
        </section>
        <StartRollout deployment={deployment} />
      </div>
      {current && <RolloutPanel rollout={current} showLink />}
      <section className="card card--flush" aria-label="Rollout history">
        {historyError && (
          <p role="alert" className="banner banner--inline">
            {historyError}
          </p>
        )}
        <DataTable caption="Rollouts" columns={ROLLOUT_COLUMNS}>
          {rollouts.map((r) => (
            <tr key={r.id}>
              <th scope="row">
                <Link href={`/rollouts/${r.id}`} className="mono">
                  {shortId(r.id)}
                </Link>
              </th>
              <td>
                v{r.fromVersion} → v{r.toVersion}
              </td>
              <td>
                <StateBadge state={r.state} />
              </td>
              <td className="optional">{formatTimestamp(r.createdAt)}</td>
              <td>{r.reason ?? '—'}</td>
            </tr>
          ))}
        </DataTable>
      </section>
      <section className="card card--flush" aria-label="Replicas">
        <SandboxesTable sandboxes={replicas} filters={false} />
      </section>
    </>
  );
}

function StartRollout({ deployment }: { deployment: Deployment }) {
  const { api, explain, state } = useFleet();
  const [template, setTemplate] = useState<TemplateDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const latest = state.templates.items[deployment.templateId]?.latestVersion;

  useEffect(() => {
    let current = true;
    api.template(deployment.templateId).then(
      (t) => {
        if (current) setTemplate(t);
      },
      (err: unknown) => {
        if (current) setError(`Could not load the template's versions: ${explain(err)}`);
      },
    );
    return () => {
      current = false;
    };
  }, [api, explain, deployment.templateId, latest]);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const version = Number(textField(new FormData(event.currentTarget), 'version'));
    setBusy(true);
    setError(null);
    try {
      await api.startRollout(deployment.id, version);
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  }

  const others = (template?.versions ?? []).filter((v) => v.version !== deployment.templateVersion);
  return (
    <section className="card" aria-labelledby="start-rollout">
      <h2 id="start-rollout">Start a rollout</h2>
      <form className="form" onSubmit={(e) => void submit(e)}>
        <label className="field">
          <span>To version</span>
          <select name="version" key={others.length} defaultValue={others.at(-1)?.version}>
            {others.map((v) => (
              <option key={v.version} value={v.version}>
                v{v.version}
              </option>
            ))}
          </select>
        </label>
        <button
          type="submit"
          className="button button--primary"
          disabled={busy || others.length === 0 || deployment.state === 'rolling'}
        >
          Start rollout
        </button>
        {others.length === 0 && template && <p className="hint">The template has no other version yet.</p>}
        {error && (
          <p role="alert" className="error-list">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
