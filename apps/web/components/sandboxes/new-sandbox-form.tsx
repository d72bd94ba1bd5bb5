'use client';

import Link from 'next/link';
import { useId, useState, type FormEvent } from 'react';
import { useFleet } from '@/lib/fleet/fleet.context';
import { textField } from '@/lib/form-data';
import { shortId } from '@/lib/format';
import { MEMORY_LIMITS_MIB, VCPU_LIMITS, buildCreateRequest } from '@/lib/sandbox-form';
import { ErrorList } from '../ui/error-list';
import { RuntimeModeFields } from './runtime-mode-fields';

type Outcome = { kind: 'created'; id: string } | { kind: 'errors'; messages: string[] } | null;

export function NewSandboxForm() {
  const { api, dispatch, explain } = useFleet();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const headingId = useId();

  async function create(form: HTMLFormElement) {
    const data = new FormData(form);
    const { request, errors } = buildCreateRequest({
      image: textField(data, 'image'),
      vcpus: textField(data, 'vcpus'),
      memoryMiB: textField(data, 'memoryMiB'),
      networkModel: textField(data, 'networkModel'),
      rootfs: textField(data, 'rootfs'),
      env: textField(data, 'env'),
    });
    if (errors.length > 0) {
      setOutcome({ kind: 'errors', messages: errors });
      return;
    }
    setBusy(true);
    setOutcome(null);
    try {
      const sandbox = await api.createSandbox(request);
      // Show the row now; the socket events that follow move it through its states.
      dispatch({ type: 'upsert', collection: 'sandboxes', item: sandbox });
      setOutcome({ kind: 'created', id: sandbox.id });
    } catch (error) {
      setOutcome({ kind: 'errors', messages: [explain(error)] });
    } finally {
      setBusy(false);
    }
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    void create(event.currentTarget);
  }

  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>New sandbox</h2>
      <form className="form" onSubmit={onSubmit} noValidate>
        <label className="field">
          <span>Image</span>
          <input name="image" placeholder="default busybox" spellCheck={false} autoComplete="off" />
        </label>
        <div className="form__row">
          <label className="field">
            <span>vCPUs</span>
            <input name="vcpus" type="number" inputMode="numeric" min={VCPU_LIMITS.min} max={VCPU_LIMITS.max} placeholder="default" />
          </label>
          <label className="field">
            <span>Memory (MiB)</span>
            <input
              name="memoryMiB"
              type="number"
              inputMode="numeric"
              min={MEMORY_LIMITS_MIB.min}
              max={MEMORY_LIMITS_MIB.max}
              step={64}
              placeholder="default"
            />
          </label>
        </div>
        <RuntimeModeFields />
        <label className="field">
          <span>Environment</span>
          <textarea name="env" rows={3} spellCheck={false} aria-describedby={`${headingId}-env-hint`} placeholder="KEY=VALUE" />
        </label>
        <p id={`${headingId}-env-hint`} className="hint">
          One KEY=VALUE per line. Blank fields use the control plane&apos;s defaults.
        </p>
        <button type="submit" className="button button--primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create sandbox'}
        </button>
        <div aria-live="polite">
          {outcome?.kind === 'created' && (
            <p className="notice">
              Created sandbox <Link href={`/sandboxes/${outcome.id}`}>{shortId(outcome.id)}</Link>.
            </p>
          )}
        </div>
        {outcome?.kind === 'errors' && <ErrorList messages={outcome.messages} />}
      </form>
    </section>
  );
}
