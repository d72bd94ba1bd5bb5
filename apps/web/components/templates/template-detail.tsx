'use client';

import Link from 'next/link';
import { useEffect, useState, type FormEvent } from 'react';
import { useFleet } from '@/lib/fleet/fleet.context';
import { diffSpecs, fieldsToSpec, specToFields } from '@/lib/template-diff';
import type { TemplateDetail as Detail, TemplateVersion } from '@moat/sdk';
import { useSubmission } from '../ui/use-submission';
import { TemplateSpecFields, readTemplateFields } from './template-spec-fields';
import { DataTable } from '../ui/data-table';
import { FormCard } from '../ui/form-card';

export function TemplateDetail({ id }: { id: string }) {
  const { api, explain, state } = useFleet();
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<string | null>(null);
  // A new version anywhere (event `template:updated`) makes this page read the versions again.
  const latest = state.templates.items[id]?.latestVersion;

  useEffect(() => {
    let current = true;
    api.template(id).then(
      (d) => {
        if (current) setDetail(d);
      },
      (err: unknown) => {
        if (current) setError(`Could not load the template: ${explain(err)}`);
      },
    );
    return () => {
      current = false;
    };
  }, [api, explain, id, latest]);

  if (!detail) {
    return (
      <>
        <h1>Template</h1>
        {error ? <p role="alert">{error}</p> : <p role="status">Loading…</p>}
      </>
    );
  }
  const versions = [...detail.versions].sort((a, b) => a.version - b.version);
  return (
    <>
      <div className="page__header">
        <div>
          <h1>Template {detail.name}</h1>
          <p className="hint">
            {versions.length} version{versions.length === 1 ? '' : 's'}, latest v{detail.latestVersion}
          </p>
        </div>
        <Link className="button button--primary" href={`/deployments?template=${detail.id}`}>
          Deploy
        </Link>
      </div>
      <VersionCompare versions={versions} />
      <NewVersionForm templateId={detail.id} latest={versions.at(-1)} onCreated={(d) => setDetail(d)} />
    </>
  );
}

function VersionCompare({ versions }: { versions: TemplateVersion[] }) {
  const [left, setLeft] = useState(() => versions.at(-2)?.version ?? versions[0]?.version ?? 1);
  const [right, setRight] = useState(() => versions.at(-1)?.version ?? 1);
  const a = versions.find((v) => v.version === left);
  const b = versions.find((v) => v.version === right);
  const select = (value: number, set: (n: number) => void, label: string) => (
    <label className="field">
      <span>{label}</span>
      <select value={value} onChange={(e) => set(Number(e.target.value))}>
        {versions.map((v) => (
          <option key={v.version} value={v.version}>
            v{v.version}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <section className="card" aria-labelledby="compare-heading">
      <h2 id="compare-heading">Versions side by side</h2>
      <div className="form__row">
        {select(left, setLeft, 'Left version')}
        {select(right, setRight, 'Right version')}
      </div>
      {a && b && (
        <DataTable
          caption={`v${a.version} against v${b.version}: changed fields are marked`}
          columns={[{ label: 'Field' }, { label: `v${a.version}` }, { label: `v${b.version}` }]}
          className="diff"
        >
          {diffSpecs(a, b).map((row) => (
            <tr key={row.field} className={row.changed ? 'diff--changed' : undefined}>
              <th scope="row">
                {row.field}
                {row.changed && <span className="diff__mark"> (changed)</span>}
              </th>
              <td className="mono pre">{row.left}</td>
              <td className="mono pre">{row.right}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}

function NewVersionForm({
  templateId,
  latest,
  onCreated,
}: {
  templateId: string;
  latest: TemplateVersion | undefined;
  onCreated: (detail: Detail) => void;
}) {
  const { api } = useFleet();
  const [created, setCreated] = useState<number | null>(null);
  const { errors, setErrors, busy, send } = useSubmission();

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const { spec, errors: problems } = fieldsToSpec(readTemplateFields(new FormData(event.currentTarget)));
    setErrors(problems);
    if (!spec) return;
    void send(async () => {
      const version = await api.createTemplateVersion(templateId, spec);
      setCreated(version.version);
      onCreated(await api.template(templateId));
    });
  }

  return (
    <FormCard
      id="new-version"
      title="New version"
      intro={<p className="hint">Versions never change once created; this one starts from the latest.</p>}
      formKey={latest?.version}
      submitLabel="Create version"
      busy={busy}
      errors={errors}
      onSubmit={submit}
      result={<div aria-live="polite">{created !== null && <p className="notice">Created version v{created}.</p>}</div>}
    >
      <TemplateSpecFields initial={latest ? specToFields(latest) : undefined} />
    </FormCard>
  );
}
