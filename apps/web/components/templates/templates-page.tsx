'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { useCollection, useFleet } from '@/lib/fleet/fleet.context';
import { listByName } from '@/lib/fleet/fleet.reducer';
import { textField } from '@/lib/form-data';
import { fieldsToSpec } from '@/lib/template-diff';
import { LoadStatus } from '../ui/load-status';
import { RelativeTime } from '../ui/relative-time';
import { TemplateSpecFields, readTemplateFields } from './template-spec-fields';
import { ErrorList } from '../ui/error-list';

export function TemplatesPage() {
  const templates = useCollection('templates');
  const list = listByName(templates.items);
  return (
    <>
      <h1>Templates</h1>
      <div className="grid grid--main-side">
        <section className="card card--flush">
          <div className="table-scroll">
            <table className="table">
              <caption>Templates</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Latest version</th>
                  <th scope="col" className="optional">
                    Created
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((t) => (
                  <tr key={t.id}>
                    <th scope="row">
                      <Link href={`/templates/${t.id}`}>{t.name}</Link>
                    </th>
                    <td>v{t.latestVersion}</td>
                    <td className="optional">{t.createdAt ? <RelativeTime iso={t.createdAt} /> : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <LoadStatus loaded={templates.loaded} error={templates.error} empty={list.length === 0 ? 'No templates yet.' : null} />
        </section>
        <NewTemplateForm />
      </div>
    </>
  );
}

function NewTemplateForm() {
  const { api, dispatch, explain } = useFleet();
  const router = useRouter();
  const [errors, setErrors] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const name = textField(data, 'name').trim();
    const { spec, errors: problems } = fieldsToSpec(readTemplateFields(data));
    const all = [...(name ? [] : ['Enter a name.']), ...problems];
    setErrors(all);
    if (all.length > 0 || !spec) return;
    setBusy(true);
    try {
      const created = await api.createTemplate(name, spec);
      dispatch({
        type: 'upsert',
        collection: 'templates',
        item: { id: created.id, name: created.name, latestVersion: created.version, createdAt: created.createdAt },
      });
      router.push(`/templates/${created.id}`);
    } catch (err) {
      setErrors([explain(err)]);
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="new-template">
      <h2 id="new-template">New template</h2>
      <form className="form" onSubmit={(e) => void submit(e)} noValidate>
        <label className="field">
          <span>Name</span>
          <input name="name" required autoComplete="off" />
        </label>
        <TemplateSpecFields />
        <button type="submit" className="button button--primary" disabled={busy}>
          Create template
        </button>
        <ErrorList messages={errors} />
      </form>
    </section>
  );
}
