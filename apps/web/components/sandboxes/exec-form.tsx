'use client';

import { useId, useState, type FormEvent } from 'react';
import { useFleet } from '@/lib/fleet/fleet.context';
import { textField } from '@/lib/form-data';
import { buildExecRequest } from '@/lib/sandbox-form';
import type { ExecResult } from '@moat/sdk';

type Outcome = { kind: 'result'; result: ExecResult } | { kind: 'error'; message: string } | null;

export function ExecForm({ sandboxId, running }: { sandboxId: string; running: boolean }) {
  const { api, explain } = useFleet();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const id = useId();

  async function run(form: HTMLFormElement) {
    const data = new FormData(form);
    const request = buildExecRequest(textField(data, 'command'), textField(data, 'stdin'));
    if (!request) {
      setOutcome({ kind: 'error', message: 'Enter a command to run.' });
      return;
    }
    setBusy(true);
    try {
      setOutcome({ kind: 'result', result: await api.exec(sandboxId, request) });
    } catch (error) {
      setOutcome({ kind: 'error', message: explain(error) });
    } finally {
      setBusy(false);
    }
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    void run(event.currentTarget);
  }

  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Run command</h2>
      <form className="form" onSubmit={onSubmit} aria-busy={busy}>
        <label className="field">
          <span>Command</span>
          <input
            name="command"
            className="mono"
            autoComplete="off"
            autoCapitalize="off"
            spellCheck={false}
            placeholder="uname -r"
            aria-describedby={`${id}-hint`}
          />
        </label>
        <label className="field">
          <span>Standard input (optional)</span>
          <textarea name="stdin" className="mono" rows={2} spellCheck={false} />
        </label>
        <p id={`${id}-hint`} className="hint">
          {running
            ? 'Split on whitespace into arguments; no shell is involved.'
            : 'Commands can run only while the sandbox is running.'}
        </p>
        <button type="submit" className="button button--primary" disabled={busy || !running}>
          {busy ? 'Running…' : 'Run'}
        </button>
      </form>
      <div aria-live="polite">
        {outcome?.kind === 'error' && (
          <p role="alert" className="error-list">
            {outcome.message}
          </p>
        )}
        {outcome?.kind === 'result' && <ExecOutput result={outcome.result} />}
      </div>
    </section>
  );
}

function ExecOutput({ result }: { result: ExecResult }) {
  return (
    <div className="exec-output">
      <p>
        Exit code{' '}
        <strong className={result.exitCode === 0 ? 'exit exit--ok' : 'exit exit--fail'}>{result.exitCode}</strong>
      </p>
      <Stream label="Standard output" text={result.stdout} />
      <Stream label="Standard error" text={result.stderr} />
    </div>
  );
}

function Stream({ label, text }: { label: string; text: string }) {
  return (
    <figure className="stream">
      <figcaption>{label}</figcaption>
      <pre tabIndex={0}>{text === '' ? <span className="hint">(empty)</span> : text}</pre>
    </figure>
  );
}
