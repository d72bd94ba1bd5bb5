'use client';

import { useRouter } from 'next/navigation';
import type { FormEvent } from 'react';
import { useCollection, useFleet } from '@/lib/fleet/fleet.context';
import { textField } from '@/lib/form-data';
import { fieldsToSpec } from '@/lib/template-diff';
import { useSubmission } from '../ui/use-submission';
import { CollectionPage, NameCell } from '../ui/collection-page';
import type { DataTableColumn } from '../ui/data-table';
import { FormCard } from '../ui/form-card';
import { RelativeTime } from '../ui/relative-time';
import { TemplateSpecFields, readTemplateFields } from './template-spec-fields';

const COLUMNS: readonly DataTableColumn[] = [{ label: 'Name' }, { label: 'Latest version' }, { label: 'Created', optional: true }];

export function TemplatesPage() {
  const templates = useCollection('templates');
  return (
    <CollectionPage
      title="Templates"
      collection={templates}
      columns={COLUMNS}
      empty="No templates yet."
      form={<NewTemplateForm />}
      row={(t) => (
        <tr key={t.id}>
          <NameCell href={`/templates/${t.id}`} name={t.name} />
          <td>v{t.latestVersion}</td>
          <td className="optional">{t.createdAt ? <RelativeTime iso={t.createdAt} /> : '—'}</td>
        </tr>
      )}
    />
  );
}

function NewTemplateForm() {
  const { api, dispatch } = useFleet();
  const router = useRouter();
  const { errors, setErrors, busy, send } = useSubmission();

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const name = textField(data, 'name').trim();
    const { spec, errors: problems } = fieldsToSpec(readTemplateFields(data));
    const all = [...(name ? [] : ['Enter a name.']), ...problems];
    setErrors(all);
    if (all.length > 0 || !spec) return;
    void send(
      async () => {
        const created = await api.createTemplate(name, spec);
        dispatch({
          type: 'upsert',
          collection: 'templates',
          item: { id: created.id, name: created.name, latestVersion: created.version, createdAt: created.createdAt },
        });
        router.push(`/templates/${created.id}`);
      },
      { leavesPage: true },
    );
  }

  return (
    <FormCard id="new-template" title="New template" submitLabel="Create template" busy={busy} errors={errors} onSubmit={submit}>
      <label className="field">
        <span>Name</span>
        <input name="name" required autoComplete="off" />
      </label>
      <TemplateSpecFields />
    </FormCard>
  );
}
