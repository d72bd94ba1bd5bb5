import type { FormEvent, ReactNode } from 'react';
import { ErrorList } from './error-list';

/**
 * A card holding one form that creates something: its heading, the fields (`children`), the
 * submit button, what the last submission produced (`result`) and its problems.
 */
export function FormCard({
  id,
  title,
  intro,
  formKey,
  submitLabel,
  busy,
  errors,
  onSubmit,
  result,
  children,
}: {
  id: string;
  title: string;
  intro?: ReactNode;
  /** A new key resets the fields to their defaults. */
  formKey?: string | number;
  submitLabel: string;
  busy: boolean;
  errors: readonly string[];
  onSubmit: (event: FormEvent<HTMLFormElement>) => void;
  result?: ReactNode;
  children: ReactNode;
}) {
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {intro}
      <form className="form" onSubmit={onSubmit} noValidate key={formKey}>
        {children}
        <button type="submit" className="button button--primary" disabled={busy}>
          {submitLabel}
        </button>
        {result}
        <ErrorList messages={errors} />
      </form>
    </section>
  );
}
