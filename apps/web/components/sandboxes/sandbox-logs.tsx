'use client';

import { useEffect, useId, useLayoutEffect, useRef, useState } from 'react';
import type { SandboxState } from '@moat/sdk';
import { useFleet } from '@/lib/fleet/fleet.context';
import { appendLog, EMPTY_LOG_VIEW, type LogView } from '@/lib/log-view';

/** Lines asked for when the panel opens: enough to see what happened, little enough to load at once. */
const TAIL_LINES = 1000;

type Status = { kind: 'loading' } | { kind: 'live' } | { kind: 'done'; ended: boolean } | { kind: 'error'; message: string };

/**
 * Only a sandbox on a node has logs there: while it runs (and while it sleeps: its node keeps
 * them across a hibernate), and after it failed until it is deleted.
 */
const HAS_LOGS: readonly SandboxState[] = ['running', 'hibernating', 'hibernated', 'waking', 'migrating', 'failed', 'stopping'];

/**
 * The main process's stdout and stderr (stderr set apart in colour), streamed with fetch from
 * the logs route's server-sent events: the dashboard authenticates with a bearer header, which
 * EventSource cannot send. Bounded in the DOM (see `appendLog`).
 */
export function SandboxLogs({ sandboxId, state }: { sandboxId: string; state: SandboxState }) {
  const id = useId();
  const { api, explain } = useFleet();
  const [follow, setFollow] = useState(true);
  const [view, setView] = useState<LogView>(EMPTY_LOG_VIEW);
  const [status, setStatus] = useState<Status>({ kind: 'loading' });
  const pre = useRef<HTMLPreElement>(null);
  const pinned = useRef(true);
  const available = HAS_LOGS.includes(state);
  const live = follow && state === 'running';

  useEffect(() => {
    if (!available) return;
    const stop = new AbortController();
    setView(EMPTY_LOG_VIEW);
    setStatus({ kind: live ? 'live' : 'loading' });
    const read = async (): Promise<void> => {
      let ended = false;
      try {
        for await (const chunk of api.logs(sandboxId, { follow: live, tail: TAIL_LINES, signal: stop.signal })) {
          setView((current) => appendLog(current, chunk));
        }
        ended = live;
      } catch (err) {
        if (stop.signal.aborted) return;
        setStatus({ kind: 'error', message: explain(err) });
        return;
      }
      if (!stop.signal.aborted) setStatus({ kind: 'done', ended });
    };
    void read();
    return () => stop.abort();
  }, [api, explain, sandboxId, available, live]);

  // Stays at the bottom while new output arrives, unless the reader scrolled up.
  useLayoutEffect(() => {
    if (pre.current && pinned.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [view]);

  return (
    <section className="card logs" aria-labelledby={`${id}-heading`}>
      <div className="page__header">
        <h2 id={`${id}-heading`}>Logs</h2>
        <label className="logs__follow">
          <input type="checkbox" checked={follow} onChange={(event) => setFollow(event.target.checked)} disabled={state !== 'running'} /> Follow
        </label>
      </div>
      {!available ? (
        <p className="hint">The main process&apos;s output is shown once the sandbox runs on a node.</p>
      ) : (
        <>
          <p role="status" className="hint">
            {status.kind === 'loading' && 'Loading…'}
            {status.kind === 'live' && 'Live: new output appears as the process writes it.'}
            {status.kind === 'done' && (status.ended ? "The process's output has ended." : 'Everything the node holds is shown.')}
            {view.trimmed > 0 && ` Older output is not shown (${view.trimmed.toLocaleString()} characters).`}
          </p>
          {status.kind === 'error' && (
            <p className="banner banner--inline" role="alert">
              Could not read the logs: {status.message}
            </p>
          )}
          <pre
            ref={pre}
            tabIndex={0}
            className="logs__output"
            aria-label="Standard output and error of the main process"
            onScroll={(event) => {
              const el = event.currentTarget;
              pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
            }}
          >
            {view.runs.length === 0 ? (
              <span className="hint">(no output)</span>
            ) : (
              view.runs.map((run) => (
                <span key={run.key} className={`logs__${run.stream}`} data-stream={run.stream}>
                  {run.text}
                </span>
              ))
            )}
          </pre>
        </>
      )}
    </section>
  );
}
