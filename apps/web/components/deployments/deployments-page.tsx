'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { useCollection, useFleet } from '@/lib/fleet/fleet.context';
import { listByName } from '@/lib/fleet/fleet.reducer';
import { textField } from '@/lib/form-data';
import { parseOptionalInt } from '@/lib/forms';
import type { StrategyType } from '@/lib/types';
import { LoadStatus } from '../ui/load-status';
import { StateBadge } from '../ui/state-badge';
import { ReplicaHealth } from './replica-health';
import { ErrorList } from '../ui/error-list';

const STRATEGIES: readonly StrategyType[] = ['rolling', 'canary', 'blue-green', 'immediate'];

/** `template` pre-selects a template in the form (the template page's Deploy button). */
export function DeploymentsPage({ template }: { template: string }) {
  const deployments = useCollection('deployments');
  const templates = useCollection('templates');
  const list = listByName(deployments.items);
  return (
    <>
      <h1>Deployments</h1>
      <div className="grid grid--main-side">
        <section className="card card--flush">
          <div className="table-scroll">
            <table className="table">
              <caption>Deployments</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">State</th>
                  <th scope="col" className="optional">
                    Template
                  </th>
                  <th scope="col">Replicas</th>
                </tr>
              </thead>
              <tbody>
                {list.map((d) => (
                  <tr key={d.id} data-deployment-id={d.id}>
                    <th scope="row">
                      <Link href={`/deployments/${d.id}`}>{d.name}</Link>
                    </th>
                    <td>
                      <StateBadge state={d.state} />
                    </td>
                    <td className="optional">
                      {templates.items[d.templateId]?.name ?? d.templateId.slice(0, 8)} v{d.templateVersion}
                    </td>
                    <td>
                      <ReplicaHealth counts={d.counts} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <LoadStatus
            loaded={deployments.loaded}
            error={deployments.error}
            empty={list.length === 0 ? 'No deployments yet.' : null}
          />
        </section>
        <NewDeploymentForm preselected={template} />
      </div>
    </>
  );
}

function NewDeploymentForm({ preselected }: { preselected: string }) {
  const { api, dispatch, explain } = useFleet();
  const templates = useCollection('templates');
  const router = useRouter();
  const [errors, setErrors] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const list = listByName(templates.items);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const problems: string[] = [];
    const templateId = textField(data, 'templateId');
    if (!templateId) problems.push('Choose a template.');
    const perNode = data.get('perNode') === 'on';
    const templateVersion = parseOptionalInt(textField(data, 'templateVersion'), 'Version', { min: 1, max: 1_000_000 }, problems);
    const replicas = parseOptionalInt(textField(data, 'replicas'), 'Replicas', { min: 0, max: 1000 }, problems);
    const maxUnavailable = parseOptionalInt(textField(data, 'maxUnavailable'), 'Max unavailable', { min: 0, max: 1000 }, problems) ?? 1;
    const maxSurge = parseOptionalInt(textField(data, 'maxSurge'), 'Max surge', { min: 0, max: 1000 }, problems) ?? 1;
    setErrors(problems);
    if (problems.length > 0) return;
    const name = textField(data, 'name').trim();
    setBusy(true);
    try {
      const deployment = await api.createDeployment({
        ...(name ? { name } : {}),
        templateId,
        ...(templateVersion ? { templateVersion } : {}),
        ...(perNode ? { perNode: true } : { replicas: replicas ?? 1 }),
        strategy: {
          type: textField(data, 'strategy') as StrategyType,
          maxUnavailable,
          maxSurge,
          autoRollback: data.get('autoRollback') === 'on',
        },
      });
      dispatch({ type: 'upsert', collection: 'deployments', item: deployment });
      router.push(`/deployments/${deployment.id}`);
    } catch (err) {
      setErrors([explain(err)]);
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="new-deployment">
      <h2 id="new-deployment">New deployment</h2>
      <form className="form" onSubmit={(e) => void submit(e)} noValidate>
        <label className="field">
          <span>Name</span>
          <input name="name" placeholder="template name" autoComplete="off" />
        </label>
        <label className="field">
          <span>Template</span>
          <select name="templateId" defaultValue={preselected} key={`${preselected}-${list.length}`}>
            <option value="">choose…</option>
            {list.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} (latest v{t.latestVersion})
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Template version</span>
          <input name="templateVersion" type="number" min={1} inputMode="numeric" placeholder="latest" />
        </label>
        <div className="form__row">
          <label className="field">
            <span>Replicas</span>
            <input name="replicas" type="number" min={0} defaultValue={1} inputMode="numeric" />
          </label>
          <label className="field field--check">
            <input name="perNode" type="checkbox" />
            <span>One per node</span>
          </label>
        </div>
        <label className="field">
          <span>Strategy</span>
          <select name="strategy" defaultValue="rolling">
            {STRATEGIES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <div className="form__row">
          <label className="field">
            <span>Max unavailable</span>
            <input name="maxUnavailable" type="number" min={0} defaultValue={1} />
          </label>
          <label className="field">
            <span>Max surge</span>
            <input name="maxSurge" type="number" min={0} defaultValue={1} />
          </label>
        </div>
        <label className="field field--check">
          <input name="autoRollback" type="checkbox" defaultChecked />
          <span>Roll back automatically on failure</span>
        </label>
        <button type="submit" className="button button--primary" disabled={busy}>
          Create deployment
        </button>
        <ErrorList messages={errors} />
      </form>
    </section>
  );
}
