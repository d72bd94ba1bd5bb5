'use client';

import { useRouter } from 'next/navigation';
import { useId, useRef, useState } from 'react';
import { useFleet } from '@/lib/fleet/fleet.context';
import { shortId } from '@/lib/format';

/** Delete behind a modal confirmation; the native <dialog> traps focus and closes on Escape. */
export function DeleteSandboxButton({ sandboxId }: { sandboxId: string }) {
  const { api, explain } = useFleet();
  const router = useRouter();
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = useId();

  async function confirmDelete() {
    setBusy(true);
    setError(null);
    try {
      await api.deleteSandbox(sandboxId);
      dialog.current?.close();
      // Deletion is asynchronous (202): the overview shows it stopping, then it disappears.
      router.push('/');
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <button type="button" className="button button--danger" onClick={() => dialog.current?.showModal()}>
        Delete
      </button>
      <dialog ref={dialog} className="dialog" aria-labelledby={`${id}-title`} aria-describedby={`${id}-body`}>
        <h2 id={`${id}-title`}>Delete sandbox {shortId(sandboxId)}?</h2>
        <p id={`${id}-body`}>
          Its VM is stopped and everything it used is released. This cannot be undone.
        </p>
        {error && (
          <p role="alert" className="error-list">
            {error}
          </p>
        )}
        <div className="dialog__actions">
          {/* Focus lands on the harmless choice first. */}
          <button type="button" className="button" autoFocus onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="button" className="button button--danger" disabled={busy} onClick={() => void confirmDelete()}>
            {busy ? 'Deleting…' : 'Delete sandbox'}
          </button>
        </div>
      </dialog>
    </>
  );
}
