'use client';

import { useRouter } from 'next/navigation';
import type { FormEvent } from 'react';
import { useCollection, useFleet } from '@/lib/fleet/fleet.context';
import { listByName } from '@/lib/fleet/fleet.reducer';
import { textField } from '@/lib/form-data';
import { parseOptionalInt } from '@/lib/forms';
import type { StrategyType } from '@moat/sdk';
import { useSubmission } from '../ui/use-submission';
import { CollectionPage, NameCell } from '../ui/collection-page';
import type { DataTableColumn } from '../ui/data-table';
import { FormCard } from '../ui/form-card';
import { StateBadge } from '../ui/state-badge';
import { ReplicaHealth } from './replica-health';

const STRATEGIES: readonly StrategyType[] = ['rolling', 'canary', 'blue-green', 'immediate'];
const COLUMNS: readonly DataTableColumn[] = [
  { label: 'Name' },
  { label: 'State' },
  { label: 'Template', optional: true },
  { label: 'Replicas' },
];

/** `template` pre-selects a template in the form (the template page's Deploy button). */
export function DeploymentsPage({ template }: { template: string }) {
  const deployments = useCollection('deployments');
  const templates = useCollection('templates');
  return (
    <CollectionPage
      title="Deployments"
      collection={deployments}
      columns={COLUMNS}
      empty="No deployments yet."
      form={<NewDeploymentForm preselected={template} />}
      row={(d) => (
        <tr key={d.id} data-deployment-id={d.id}>
          <NameCell href={`/deployments/${d.id}`} name={d.name} />
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
      )}
    />
  );
}

function NewDeploymentForm({ preselected }: { preselected: string }) {
  const { api, dispatch } = useFleet();
  const templates = useCollection('templates');
  const router = useRouter();
  const { errors, setErrors, busy, send } = useSubmission();
  const list = listByName(templates.items);

  function submit(event: FormEvent<HTMLFormElement>) {
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
    void send(
      async () => {
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
      },
      { leavesPage: true },
    );
  }

  return (
    <FormCard
      id="new-deployment"
      title="New deployment"
      submitLabel="Create deployment"
      busy={busy}
      errors={errors}
      onSubmit={submit}
    >
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
    </FormCard>
  );
}
