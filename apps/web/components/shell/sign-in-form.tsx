'use client';

import { MoatApiError } from '@moat/sdk';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { ApiClient } from '@/lib/api/api.client';
import { describeError } from '@/lib/api/api-error';
import { useApiBase } from '@/lib/config/api-config.context';
import { textField } from '@/lib/form-data';
import { saveSession, type Session } from '@/lib/session';
import { useHydrated } from '@/lib/use-hydrated';

/** `GET /v1/me` says who a token belongs to; a bad or revoked token gets 401. */
async function identify(api: ApiClient, token: string): Promise<Session> {
  const me = await api.me();
  return me.kind === 'admin'
    ? { token, role: 'admin' }
    : { token, role: 'tenant', tenant: { id: me.tenant.id, name: me.tenant.name } };
}

export function SignInForm({ expired }: { expired: boolean }) {
  const router = useRouter();
  const apiBase = useApiBase();
  const hydrated = useHydrated();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function signIn(token: string) {
    setBusy(true);
    setError(null);
    try {
      saveSession(await identify(new ApiClient(apiBase(), token), token));
      router.replace('/');
    } catch (err) {
      setError(
        err instanceof MoatApiError && err.status === 401 ? 'The API did not accept this token.' : describeError(err),
      );
      setBusy(false);
    }
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const token = textField(new FormData(event.currentTarget), 'token').trim();
    if (token === '') setError('Enter an API token.');
    else void signIn(token);
  }

  return (
    // Submitting before hydration would send the form natively; POST keeps the token out of
    // the URL, and the button stays disabled until the handler below is attached.
    <form className="form" method="post" onSubmit={onSubmit} noValidate>
      {expired && !error && (
        <p className="notice" role="status">
          Your session ended: the API no longer accepts that token. Sign in again.
        </p>
      )}
      <label className="field">
        <span>API token</span>
        <input name="token" type="password" autoComplete="off" spellCheck={false} required autoFocus />
      </label>
      {error && (
        <p role="alert" className="error-list">
          {error}
        </p>
      )}
      <button type="submit" className="button button--primary" disabled={busy || !hydrated}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
