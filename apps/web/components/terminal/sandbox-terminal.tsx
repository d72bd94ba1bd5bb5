'use client';

import dynamic from 'next/dynamic';
import { useCallback, useId, useState } from 'react';
import { useApiBase } from '@/lib/config/api-config.context';
import { useSession } from '@/lib/session';
import type { TerminalStatus } from './terminal-view';

// xterm.js (~300 kB) is fetched only when a terminal is opened.
const TerminalView = dynamic(() => import('./terminal-view'), { ssr: false, loading: () => <p className="hint">Loading terminal…</p> });

/** The sandbox page's interactive shell: a button, then a live TTY session. */
export function SandboxTerminal({ sandboxId, running }: { sandboxId: string; running: boolean }) {
  const id = useId();
  const session = useSession();
  const apiBase = useApiBase();
  const [open, setOpen] = useState<{ apiBase: string } | null>(null);
  const [status, setStatus] = useState<TerminalStatus>({ kind: 'connecting' });
  const onStatus = useCallback((next: TerminalStatus) => setStatus(next), []);

  const start = (): void => {
    setStatus({ kind: 'connecting' });
    setOpen({ apiBase: apiBase() });
  };

  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <div className="page__header">
        <h2 id={`${id}-heading`}>Terminal</h2>
        {open ? (
          <button type="button" onClick={() => setOpen(null)}>
            Close terminal
          </button>
        ) : (
          <button type="button" onClick={start} disabled={!running || !session}>
            Open terminal
          </button>
        )}
      </div>
      {!running && !open && <p className="hint">The sandbox must be running to open a shell in it.</p>}
      {open && session && (
        <>
          <p role="status" className="hint">
            {status.kind === 'connecting' ? 'Connecting…' : status.kind === 'open' ? 'Connected: /bin/sh on a TTY' : status.message}
          </p>
          <TerminalView apiBase={open.apiBase} token={session.token} sandboxId={sandboxId} onStatus={onStatus} />
        </>
      )}
    </section>
  );
}
